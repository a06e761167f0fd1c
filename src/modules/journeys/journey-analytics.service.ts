import type { DataSource } from 'typeorm';

import { LifecycleStage } from '../lifecycle/lifecycle-stage.enum';
import { stageAtJoin } from '../lifecycle/stage-at';
import type { Channel } from '../shared/channel.enum';
import { formatMoney } from '../shared/money';
import { AttributionModel, type ChannelAttribution, type ChannelCountGroup, type JourneyFunnel } from './analytics.types';
import { STEP_ORDER } from './journey-step.enum';

const ratio = (a: number, b: number) => (b === 0 ? null : a / b);

/** Journey analytics, each one aggregate statement in PostgreSQL (no rows loaded into Node). */
export class JourneyAnalyticsService {
  constructor(
    private readonly dataSource: DataSource,
    /** config.defaultCurrency: revenue sums amounts as they come (one currency per deployment). */
    private readonly currency: string,
  ) {}

  async funnel(from: Date, to: Date, channel: Channel | null): Promise<JourneyFunnel> {
    // "Reached a step" = went at least that far: furthest_step at that step or beyond.
    const [row]: Array<Record<string, number>> = await this.dataSource.query(
      `SELECT count(*)::int AS started,
              count(*) FILTER (WHERE j.furthest_step IN ('DISCOVERY', 'CONSIDERATION', 'EVALUATION', 'DECISION'))::int AS discovery,
              count(*) FILTER (WHERE j.furthest_step IN ('CONSIDERATION', 'EVALUATION', 'DECISION'))::int AS consideration,
              count(*) FILTER (WHERE j.furthest_step IN ('EVALUATION', 'DECISION'))::int AS evaluation,
              count(*) FILTER (WHERE j.furthest_step = 'DECISION')::int AS decision,
              count(*) FILTER (WHERE j.status = 'CONVERTED')::int AS converted
         FROM journey j JOIN customer c ON c.id = j.customer_id AND c.merged_into_id IS NULL
        WHERE j.started_at >= $1 AND j.started_at < $2 AND ($3::varchar IS NULL OR j.channels @> ARRAY[$3::varchar])`,
      [from, to, channel],
    );
    const reached = [row.discovery, row.consideration, row.evaluation, row.decision];
    return {
      started: row.started,
      steps: STEP_ORDER.map((step, i) => ({
        step,
        reached: reached[i],
        fromPrevious: i === 0 ? null : ratio(reached[i], reached[i - 1]),
        fromStart: ratio(reached[i], row.started),
      })),
      converted: row.converted,
      conversionRate: ratio(row.converted, row.started),
    };
  }

  async attribution(from: Date, to: Date, model: AttributionModel): Promise<ChannelAttribution[]> {
    const column = model === AttributionModel.FIRST_TOUCH ? 'j.first_channel' : 'j.last_channel';
    const rows: Array<{ channel: Channel; conversions: number; revenue: string }> = await this.dataSource.query(
      `SELECT ${column} AS channel, count(*)::int AS conversions, coalesce(sum(j.amount), 0)::text AS revenue
         FROM journey j JOIN customer c ON c.id = j.customer_id AND c.merged_into_id IS NULL
        WHERE j.status = 'CONVERTED' AND j.ended_at >= $1 AND j.ended_at < $2
        GROUP BY 1 ORDER BY 2 DESC, 1`,
      [from, to],
    );
    return rows.map((r) => ({ channel: r.channel, conversions: r.conversions, revenue: formatMoney(r.revenue, this.currency) }));
  }

  async multichannel(asOf: Date | null): Promise<ChannelCountGroup[]> {
    const rows: Array<{ bucket: string; stage: LifecycleStage; n: number }> = asOf
      ? await this.dataSource.query(
          `WITH used AS (
             SELECT i.customer_id, count(DISTINCT i.channel) AS n
               FROM interaction i JOIN customer c ON c.id = i.customer_id AND c.merged_into_id IS NULL
              WHERE i.occurred_at <= $1
              GROUP BY i.customer_id)
           SELECT CASE WHEN u.n >= 4 THEN '4+' ELSE u.n::text END AS bucket, coalesce(t.to_stage, 'PROSPECT') AS stage, count(*)::int AS n
             FROM used u
             ${stageAtJoin('u.customer_id', '$1')}
            GROUP BY 1, 2`,
          [asOf],
        )
      : await this.dataSource.query(
          `SELECT CASE WHEN cardinality(channels) >= 4 THEN '4+' ELSE cardinality(channels)::text END AS bucket, stage, count(*)::int AS n
             FROM customer WHERE merged_into_id IS NULL AND cardinality(channels) > 0
            GROUP BY 1, 2`,
        );
    return ['1', '2', '3', '4+'].map((bucket) => {
      const mine = rows.filter((r) => r.bucket === bucket);
      const customers = mine.reduce((a, r) => a + r.n, 0);
      return {
        channels: bucket,
        customers,
        stages: Object.values(LifecycleStage).map((stage) => {
          const n = mine.find((r) => r.stage === stage)?.n ?? 0;
          return { stage, customers: n, share: customers ? n / customers : 0 };
        }),
      };
    });
  }
}
