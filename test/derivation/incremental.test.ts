import { uuidv7 } from '../../src/db/uuid';
import { loadDerivationInputs, loadHistories } from '../../src/modules/derivation/customer-history';
import { Derivation, type Derived, type PendingTouch } from '../../src/modules/derivation/recompute';
import { JourneyService } from '../../src/modules/journeys/journey.service';
import { resumeHorizonMs } from '../../src/modules/lifecycle/rules';
import { RecordInteractionsDocument, type RecordInteractionInput } from '../generated/graphql';
import { unique } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';
import { DAY, generateHistory, random, type GeneratedTouch } from './histories';

/*
 * Writes derive a customer incrementally when its new interactions come after its stored ones,
 * from a checkpoint at the first late one when some come before its latest stored one, and from
 * its whole history otherwise (merges, interactions before all stored ones). Generated histories go
 * through the API in small batches, partly out of order, with sweeps and merges between them:
 * before every batch the incremental derivation must equal the full one on the database's own
 * state, and after it the stored state must be exactly what deriving everything again gives.
 */

let t: TestServer;
let derivation: Derivation;
let horizon: number;
const START = Date.UTC(2016, 0, 1, 9);

beforeAll(async () => {
  t = await startTestServer();
  const config = t.server.services.config;
  derivation = new Derivation(config.lifecycle, new JourneyService(config.journeyAbandonAfterDays));
  horizon = resumeHorizonMs(config.lifecycle);
});
afterAll(() => t.close());

const byTime = (a: PendingTouch, b: PendingTouch) => a.at - b.at || (a.interactionId < b.interactionId ? -1 : 1);

function input(touch: GeneratedTouch, identifiers: RecordInteractionInput['identifiers']): RecordInteractionInput {
  return {
    externalId: unique('evt'),
    channel: touch.channel as RecordInteractionInput['channel'],
    type: touch.type as RecordInteractionInput['type'],
    occurredAt: new Date(touch.at).toISOString(),
    identifiers,
    ...(touch.type === 'CUSTOM' ? { name: 'wishlist' } : {}),
    ...(touch.amount !== null ? { amount: touch.amount } : {}),
    ...(touch.npsScore !== null ? { npsScore: touch.npsScore } : {}),
  };
}

async function record(inputs: RecordInteractionInput[]): Promise<string> {
  const res = await t.gql(RecordInteractionsDocument, { inputs });
  expect(res.errors).toBeUndefined();
  for (const r of res.data!.recordInteractions) expect({ status: r.status, problems: r.problems }).toEqual({ status: 'CREATED', problems: [] });
  return res.data!.recordInteractions[res.data!.recordInteractions.length - 1].customerId!;
}

function comparable(d: Derived) {
  const strip = <T extends { id: string }>(x: T) => ({ ...x, id: undefined });
  return {
    lifecycle: { ...d.lifecycle, insertTransitions: d.lifecycle.insertTransitions.map(strip), news: d.lifecycle.news.map(strip) },
    // (Which journeys are deleted is a set: the full derivation lists them in the order the database returned them.)
    journeys: { ...d.journeys, upsert: d.journeys.upsert.map((j) => ({ ...j, interactionIds: undefined })), deleteIds: [...d.journeys.deleteIds].sort() },
  };
}

/** The derivation of `pending` for `customerId` both ways, on what the database holds now; how the incremental one went. */
async function compareBeforeWrite(customerId: string, pending: PendingTouch[]): Promise<'full' | 'resume' | 'late'> {
  const first = [...pending].sort(byTime)[0];
  const target = { id: customerId, firstPending: { at: first.at, interactionId: first.interactionId } };
  const [incremental] = [...(await loadDerivationInputs(t.dataSource, [{ ...target, full: false }], horizon)).values()];
  const [full] = [...(await loadDerivationInputs(t.dataSource, [{ ...target, full: true }], horizon)).values()];
  if (full.kind !== 'full') throw new Error('a forced full derivation must load the whole history');
  const expected = derivation.recompute(full.history, pending);
  const touches = full.history.touches as PendingTouch[];
  // The read must tell the cases apart on its own.
  const kind = full.history.evaluatedAt === null || byTime(first, touches[0]) < 0 ? 'full' : byTime(first, touches[touches.length - 1]) < 0 ? 'late' : 'resume';
  expect(incremental.kind).toBe(kind);
  if (incremental.kind === 'resume') expect(comparable(derivation.resume(incremental.lifecycle, incremental.journeys, pending))).toEqual(comparable(expected));
  if (incremental.kind === 'late') expect(comparable(derivation.resumeLate(incremental.lifecycle, incremental.journeys, pending))).toEqual(comparable(expected));
  return incremental.kind;
}

/** The stored state is a fixed point of the full derivation: deriving everything again writes nothing. */
async function expectConsistent(customerId: string): Promise<void> {
  const history = (await loadHistories(t.dataSource, [customerId])).get(customerId)!;
  const d = derivation.recompute(history);
  expect({ deletes: d.lifecycle.deleteTransitionIds, inserts: d.lifecycle.insertTransitions.map((x) => `${x.to}@${x.at}`) }).toEqual({ deletes: [], inserts: [] });
  expect({ upsert: d.journeys.upsert.map((j) => j.id), deleteIds: d.journeys.deleteIds, reassign: d.journeys.reassign }).toEqual({ upsert: [], deleteIds: [], reassign: [] });
  const [row] = await t.sql(
    `SELECT stage, stage_since, evaluated_at, next_evaluation_at, order_count, gross_revenue::numeric(30,4)::text AS gross, refunds::numeric(30,4)::text AS refunds,
            net_revenue::numeric(30,4)::text AS net, first_purchase_at, last_purchase_at, last_interaction_at, last_nps_score
       FROM customer WHERE id = $1`,
    [customerId],
  );
  const o = d.lifecycle;
  expect(row).toEqual({
    stage: o.stage,
    stage_since: o.stageSince,
    evaluated_at: o.evaluatedAt,
    next_evaluation_at: o.nextEvaluationAt,
    order_count: o.orderCount,
    gross: o.grossRevenue,
    refunds: o.refunds,
    net: o.netRevenue,
    first_purchase_at: o.firstPurchaseAt,
    last_purchase_at: o.lastPurchaseAt,
    last_interaction_at: o.lastInteractionAt,
    last_nps_score: o.lastNpsScore,
  });
}

/** How often an interaction is held back, how often a held one is sent, and whether in any order. */
interface Lateness {
  hold: number;
  release: number;
  shuffled: boolean;
}

/** One generated history through the API, compared before and checked after every batch; how each batch was derived. */
async function replayHistory(seed: number, late: Lateness): Promise<Record<'full' | 'resume' | 'late', number>> {
  const rnd = random(1000 + seed);
  const touches = generateHistory(rnd, 30 + Math.floor(rnd() * 30), START + seed * DAY);
  const a = [{ type: 'CUSTOMER_ID' as const, value: unique('inc-a') }];
  // Every other history starts as two people, merged by an interaction naming both.
  const b = seed % 2 === 0 ? [{ type: 'EMAIL' as const, value: `${unique('inc-b')}@example.com` }] : null;
  const mergeAt = b ? 8 + Math.floor(rnd() * 10) : -1;
  const owners = new Map<object, string>();
  let merged = b === null;
  const ways = { full: 0, resume: 0, late: 0 };
  let latestSent = -Infinity;
  const heldBack: GeneratedTouch[] = [];
  let i = 0;
  while (i < touches.length || heldBack.length) {
    // Now and then an interaction arrives late: held back, sent a few batches later.
    if (i < touches.length && rnd() < late.hold) {
      heldBack.push(touches[i++]);
      continue;
    }
    const held = () => heldBack.splice(late.shuffled ? Math.floor(rnd() * heldBack.length) : 0, 1);
    const batch = heldBack.length && (i >= touches.length || rnd() < late.release) ? held() : touches.slice(i, (i += 1 + Math.floor(rnd() * 3)));
    const merging = !merged && i >= mergeAt;
    const identifiers = merging ? [...a, ...b!] : b && rnd() < 0.4 ? b : a;
    const owner = merging ? undefined : owners.get(identifiers);
    if (owner) {
      const pending = batch.map((g) => ({ ...g, interactionId: uuidv7() }));
      ways[await compareBeforeWrite(owner, pending)]++;
    }
    const id = await record(batch.map((g) => input(g, identifiers)));
    if (merging) merged = true;
    if (merging || merged) owners.set(a, id), b && owners.set(b, id);
    else owners.set(identifiers, id);
    await expectConsistent(id);
    latestSent = Math.max(latestSent, ...batch.map((g) => g.at));
    // Time passes (a sweep, possibly past interactions still to come): they then resume from before the instant swept to.
    if (rnd() < 0.2) {
      await t.server.services.lifecycle.sweep(new Date(latestSent + Math.floor(rnd() * 150 * DAY)));
      await expectConsistent(id);
    }
  }
  return ways;
}

describe('incremental derivation on the write path', () => {
  it.each(Array.from({ length: 12 }, (_, i) => i + 1))('history %i: appends, late interactions, sweeps and a merge give what the full derivation gives', async (seed) => {
    const ways = await replayHistory(seed, { hold: 0.12, release: 0.3, shuffled: false });
    expect(ways.resume).toBeGreaterThan(5);
  });

  // Calls that carry several customers (the statement's array form), some of them late, some appending.
  it('batches of six customers, late and in order together, store what the full derivation gives', async () => {
    const rnd = random(77);
    const people = Array.from({ length: 6 }, (_, k) => ({
      identifiers: [{ type: 'CUSTOMER_ID' as const, value: unique(`inc-multi-${k}`) }],
      touches: generateHistory(rnd, 25, START + k * DAY),
      next: 0,
      held: [] as GeneratedTouch[],
      id: null as string | null,
    }));
    let late = 0;
    while (people.some((p) => p.next < p.touches.length || p.held.length)) {
      const inputs: RecordInteractionInput[] = [];
      for (const p of people) {
        if (p.next < p.touches.length && rnd() < 0.3) p.held.push(p.touches[p.next++]);
        const sendHeld = p.held.length > 0 && (p.next >= p.touches.length || rnd() < 0.4);
        const batch = sendHeld ? p.held.splice(Math.floor(rnd() * p.held.length), 1) : p.touches.slice(p.next, (p.next += 1 + Math.floor(rnd() * 2)));
        if (sendHeld && p.id) late++;
        inputs.push(...batch.map((g) => input(g, p.identifiers)));
      }
      if (inputs.length === 0) continue;
      const res = await t.gql(RecordInteractionsDocument, { inputs });
      expect(res.errors).toBeUndefined();
      for (const r of res.data!.recordInteractions) expect({ status: r.status, problems: r.problems }).toEqual({ status: 'CREATED', problems: [] });
      res.data!.recordInteractions.forEach((r, k) => {
        people.find((p) => p.identifiers[0].value === inputs[k].identifiers![0].value)!.id = r.customerId!;
      });
      for (const p of people) if (p.id) await expectConsistent(p.id);
    }
    expect(late).toBeGreaterThan(10);
  });

  // A third of the interactions late, sent in any order: most batches then resume from a late
  // instant, with the journeys passed over again from there.
  it.each(Array.from({ length: 12 }, (_, i) => i + 101))('history %i: mostly late interactions, in any order, give what the full derivation gives', async (seed) => {
    const ways = await replayHistory(seed, { hold: 0.35, release: 0.4, shuffled: true });
    expect(ways.late).toBeGreaterThan(2);
  });
});
