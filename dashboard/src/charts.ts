// Only the charts and components drawn here are bundled: half the size of the whole of ECharts.
import { BarChart, FunnelChart, SankeyChart, type BarSeriesOption, type FunnelSeriesOption, type SankeySeriesOption } from 'echarts/charts';
import { GridComponent, TooltipComponent, type GridComponentOption, type TooltipComponentOption } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';

import type { DashboardAttributionQuery, DashboardDistributionQuery, DashboardFlowQuery, DashboardFunnelQuery } from './generated/graphql';
import { byStageOrder, CHANNELS, stageColor, stageLabel, stageOrder } from './labels';

echarts.use([BarChart, FunnelChart, SankeyChart, GridComponent, TooltipComponent, SVGRenderer]);

type Option = echarts.ComposeOption<BarSeriesOption | FunnelSeriesOption | SankeySeriesOption | GridComponentOption | TooltipComponentOption>;

const charts = new Map<HTMLElement, echarts.ECharts>();

function chartIn(element: HTMLElement): echarts.ECharts {
  let chart = charts.get(element);
  if (!chart) {
    // SVG: crisp at any zoom and print, and the drawn shapes are in the DOM.
    chart = echarts.init(element, null, { renderer: 'svg' });
    charts.set(element, chart);
  }
  return chart;
}

function draw(element: HTMLElement, option: Option): void {
  element.classList.remove('empty');
  const chart = chartIn(element);
  // Its box may have been folded away (no data) since the chart last measured it.
  chart.resize();
  chart.setOption(option, { notMerge: true });
}

/** No data to draw: the chart's box folds away rather than stand empty. */
export function clearChart(element: HTMLElement): void {
  charts.get(element)?.clear();
  element.classList.add('empty');
}

window.addEventListener('resize', () => charts.forEach((chart) => chart.resize()));

const text = { color: '#243b53', fontFamily: 'system-ui, sans-serif' };

export function drawDistribution(element: HTMLElement, distribution: DashboardDistributionQuery['lifecycleDistribution']): void {
  const stages = byStageOrder(distribution.stages);
  draw(element, {
    textStyle: text,
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    grid: { left: 48, right: 16, top: 16, bottom: 56 },
    xAxis: { type: 'category', data: stages.map((s) => stageLabel(s.stage)), axisLabel: { interval: 0, rotate: 30 } },
    yAxis: { type: 'value', minInterval: 1 },
    series: [
      {
        type: 'bar',
        name: 'customers',
        data: stages.map((s) => ({ value: s.count, itemStyle: { color: stageColor(s.stage) } })),
        label: { show: true, position: 'top' },
        barMaxWidth: 48,
      },
    ],
  });
}

/**
 * A Sankey diagram must be acyclic, and stage changes are not (ACTIVE → AT_RISK and back): each
 * stage is drawn twice, where the changes leave it (left) and where they arrive (right).
 */
export function drawFlow(element: HTMLElement, flows: DashboardFlowQuery['lifecycleFlow']): void {
  const ENTERING = 'first stage';
  const source = (stage: (typeof flows)[number]['from']) => (stage ? `${stageLabel(stage)} (from)` : ENTERING);
  const target = (stage: (typeof flows)[number]['to']) => `${stageLabel(stage)} (to)`;
  const left = [...new Set(flows.map((f) => f.from ?? null))].sort((a, b) => (a === null ? -1 : b === null ? 1 : stageOrder(a) - stageOrder(b)));
  const right = [...new Set(flows.map((f) => f.to))].sort((a, b) => stageOrder(a) - stageOrder(b));
  draw(element, {
    textStyle: text,
    tooltip: { trigger: 'item' },
    series: [
      {
        type: 'sankey',
        // The nodes stay in the order given: stages in lifecycle order down each column.
        layoutIterations: 0,
        left: 8,
        right: 150,
        top: 8,
        bottom: 8,
        nodeGap: 10,
        emphasis: { focus: 'adjacency' },
        lineStyle: { color: 'gradient', curveness: 0.5, opacity: 0.35 },
        label: { color: text.color },
        data: [
          ...left.map((stage) => ({ name: source(stage), depth: 0, itemStyle: { color: stage ? stageColor(stage) : '#bcccdc' } })),
          ...right.map((stage) => ({ name: target(stage), depth: 1, itemStyle: { color: stageColor(stage) } })),
        ],
        links: flows.map((f) => ({ source: source(f.from ?? null), target: target(f.to), value: f.count })),
      },
    ],
  });
}

export function drawFunnel(element: HTMLElement, funnel: DashboardFunnelQuery['journeyFunnel']): void {
  const colors = ['#9fb3c8', '#5b8def', '#e0962b', '#2f9e6f'];
  draw(element, {
    textStyle: text,
    tooltip: { trigger: 'item', formatter: '{b}: {c}' },
    series: [
      {
        type: 'funnel',
        // Steps in journey order whatever their counts: DISCOVERY on top, DECISION at the bottom.
        sort: 'none',
        left: '10%',
        width: '80%',
        top: 8,
        bottom: 8,
        minSize: '8%',
        gap: 2,
        label: { show: true, position: 'inside', formatter: '{b}: {c}', color: '#fff' },
        data: funnel.steps.map((s, i) => ({ name: s.step, value: s.reached, itemStyle: { color: colors[i % colors.length] } })),
      },
    ],
  });
}

export function drawAttribution(element: HTMLElement, rows: DashboardAttributionQuery['channelAttribution']): void {
  const sorted = [...rows].sort((a, b) => a.conversions - b.conversions);
  draw(element, {
    textStyle: text,
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    grid: { left: 72, right: 40, top: 8, bottom: 24 },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: sorted.map((r) => CHANNELS[r.channel]) },
    series: [{ type: 'bar', name: 'conversions', data: sorted.map((r) => r.conversions), itemStyle: { color: '#5b8def' }, label: { show: true, position: 'right' }, barMaxWidth: 28 }],
  });
}
