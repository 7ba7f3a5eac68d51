import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import {
  BigValueColorMode,
  BigValueGraphMode,
  GraphDrawStyle,
  LegendDisplayMode,
  LegendPlacement,
  LogsSortOrder,
  ReduceDataOptionsBuilder,
  SortOrder,
  StackingConfigBuilder,
  StackingMode,
  TableSortByFieldStateBuilder,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VizOrientation,
  VizTooltipOptionsBuilder,
  type DataSourceRef,
} from '@grafana/grafana-foundation-sdk/common';
import { type DashboardLink, DashboardLinkBuilder, MappingType, type DataTransformerConfig, ThresholdsConfigBuilder, ThresholdsMode } from '@grafana/grafana-foundation-sdk/dashboard';
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as logs from '@grafana/grafana-foundation-sdk/logs';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { type DatasourceKind, datasourceRef } from './datasources.js';
import type { Query } from './queries.js';

/** Where a panel sits: width out of 24 columns and height in grid units. Panels flow left to right. */
export interface Size {
  /** @default 12 */
  readonly w?: number;
  /** @default 8 */
  readonly h?: number;
}

interface Common extends Size {
  readonly title: string;
  /** What the panel shows and how to read it; Grafana shows it as the panel's tooltip. */
  readonly description: string;
  readonly queries: readonly Query[];
  /** @default 'prometheus' */
  readonly datasource?: DatasourceKind;
  /** A unit from `@grafana/grafana-foundation-sdk/units`. */
  readonly unit?: string;
  readonly decimals?: number;
  readonly min?: number;
  readonly max?: number;
  /** Threshold steps above the base colour, e.g. `[[0.01, 'orange'], [0.05, 'red']]`. */
  readonly thresholds?: ReadonlyArray<readonly [number, string]>;
  /** @default 'green' */
  readonly baseColor?: string;
  readonly links?: ReadonlyArray<{ readonly title: string; readonly url: string }>;
  readonly transformations?: readonly DataTransformerConfig[];
}

type PanelLike = {
  title(t: string): unknown;
  description(d: string): unknown;
  datasource(d: DataSourceRef): unknown;
  gridPos(g: { x: number; y: number; w: number; h: number }): unknown;
  withTarget(t: Builder<Dataquery>): unknown;
  unit(u: string): unknown;
  decimals(d: number): unknown;
  min(m: number): unknown;
  max(m: number): unknown;
  thresholds(t: ThresholdsConfigBuilder): unknown;
  dataLinks(l: Builder<DashboardLink>[]): unknown;
  withTransformation(t: DataTransformerConfig): unknown;
};

/** Reduce each series to its last value (stats, bars). */
const lastValue = () => new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false).fields('');

const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Sets what every panel has: title, description, datasource variable, size, queries with refIds, unit and thresholds. */
function apply<P extends PanelLike>(panel: P, o: Common): P {
  panel.title(o.title);
  panel.description(o.description);
  panel.datasource(datasourceRef(o.datasource ?? 'prometheus'));
  // x = y = 0 lets the dashboard builder flow the panel after the previous one.
  panel.gridPos({ x: 0, y: 0, w: o.w ?? 12, h: o.h ?? 8 });
  o.queries.forEach((q, i) => {
    q.refId(REF_IDS[i] ?? `Q${i}`);
    panel.withTarget(q);
  });
  if (o.unit !== undefined) panel.unit(o.unit);
  if (o.decimals !== undefined) panel.decimals(o.decimals);
  if (o.min !== undefined) panel.min(o.min);
  if (o.max !== undefined) panel.max(o.max);
  panel.thresholds(
    new ThresholdsConfigBuilder()
      .mode(ThresholdsMode.Absolute)
      .steps([{ value: null, color: o.baseColor ?? 'green' }, ...(o.thresholds ?? []).map(([value, color]) => ({ value, color }))]),
  );
  if (o.links && o.links.length > 0) panel.dataLinks(o.links.map((l) => new DashboardLinkBuilder(l.title).url(l.url)));
  for (const t of o.transformations ?? []) panel.withTransformation(t);
  return panel;
}

export interface TimeseriesOptions extends Common {
  /** Stack the series (for parts of a whole, such as requests by status). @default false */
  readonly stacked?: boolean;
  /** Bars instead of lines (for daily values). @default false */
  readonly bars?: boolean;
  /** Legend as a table with these calculations, e.g. `['mean', 'max']`. @default - a plain list */
  readonly legendCalcs?: readonly string[];
}

/** A time series panel. */
export function timeseriesPanel(o: TimeseriesOptions): timeseries.PanelBuilder {
  const p = apply(new timeseries.PanelBuilder(), o)
    .lineWidth(1)
    .fillOpacity(o.stacked ? 40 : 10)
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending))
    .legend(
      new VizLegendOptionsBuilder()
        .displayMode(o.legendCalcs ? LegendDisplayMode.Table : LegendDisplayMode.List)
        .placement(LegendPlacement.Bottom)
        .showLegend(true)
        .calcs([...(o.legendCalcs ?? [])]),
    );
  if (o.stacked) p.stacking(new StackingConfigBuilder().mode(StackingMode.Normal).group('A'));
  if (o.bars) p.drawStyle(GraphDrawStyle.Bars);
  return p;
}

export interface StatOptions extends Common {
  /** Show a sparkline under the value. @default true */
  readonly sparkline?: boolean;
  /** Colour the background rather than the value. @default false */
  readonly background?: boolean;
  /** Value mappings, e.g. `{ 0: ['down', 'red'], 1: ['up', 'green'] }`. */
  readonly valueText?: Readonly<Record<number, readonly [string, string]>>;
}

/** A single big number (the last value of each series). */
export function statPanel(o: StatOptions): stat.PanelBuilder {
  const p = apply(new stat.PanelBuilder(), { ...o, w: o.w ?? 6, h: o.h ?? 4 })
    .graphMode(o.sparkline === false ? BigValueGraphMode.None : BigValueGraphMode.Area)
    .colorMode(o.background ? BigValueColorMode.Background : BigValueColorMode.Value)
    .orientation(VizOrientation.Auto)
    .reduceOptions(lastValue());
  if (o.valueText) {
    p.mappings([
      {
        type: MappingType.ValueToText,
        options: Object.fromEntries(Object.entries(o.valueText).map(([v, [text, color]], index) => [v, { text, color, index }])),
      },
    ]);
  }
  return p;
}

/** A table of the latest values (instant queries) or of rows from SQL. */
export function tablePanel(o: Common & { readonly sortBy?: { readonly field: string; readonly desc: boolean } }): table.PanelBuilder {
  const p = apply(new table.PanelBuilder(), { ...o, h: o.h ?? 8 });
  p.filterable(true);
  if (o.sortBy) p.sortBy([new TableSortByFieldStateBuilder().displayName(o.sortBy.field).desc(o.sortBy.desc)]);
  return p;
}

/** Horizontal bars, one per series or row (rankings such as the busiest routes). */
export function barsPanel(o: Common): bargauge.PanelBuilder {
  return apply(new bargauge.PanelBuilder(), o)
    .orientation(VizOrientation.Horizontal)
    .reduceOptions(lastValue());
}

/** Raw log lines, newest first, with their fields. */
export function logsPanel(o: Omit<Common, 'datasource'>): logs.PanelBuilder {
  return apply(new logs.PanelBuilder(), { ...o, datasource: 'logs' })
    .showTime(true)
    .wrapLogMessage(true)
    .enableLogDetails(true)
    .sortOrder(LogsSortOrder.Descending);
}
