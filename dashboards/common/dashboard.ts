import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  QueryVariableBuilder,
  RowBuilder,
  TextBoxVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { Builder } from '@grafana/grafana-foundation-sdk/cog';
import type { Panel } from '@grafana/grafana-foundation-sdk/dashboard';
import { type DatasourceKind, datasourceRef, datasourceVariable } from './datasources.js';

export interface StackDashboardOptions {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  /** Extra tags besides `obstack`. */
  readonly tags?: readonly string[];
  /** Datasource variables, in the order they appear. */
  readonly datasources: readonly DatasourceKind[];
  /** @default 'now-6h' */
  readonly from?: string;
}

/** A dashboard with the house settings: datasource variables, shared crosshair, one-minute refresh, links to the other obstack dashboards. */
export function stackDashboard(o: StackDashboardOptions): DashboardBuilder {
  const d = new DashboardBuilder(o.title)
    .uid(o.uid)
    .description(o.description)
    .tags(['obstack', ...(o.tags ?? [])])
    .timezone('browser')
    .time({ from: o.from ?? 'now-6h', to: 'now' })
    .refresh('1m')
    .tooltip(DashboardCursorSync.Crosshair)
    .readonly()
    .link(new DashboardLinkBuilder('obstack').type(DashboardLinkType.Dashboards).tags(['obstack']).asDropdown(true).includeVars(false).keepTime(true));
  for (const kind of o.datasources) d.withVariable(datasourceVariable(kind));
  return d;
}

export interface LabelVariableOptions {
  readonly name: string;
  readonly label?: string;
  /** The series whose label values are offered, e.g. `http_requests_total{namespace=~"$namespace"}`. */
  readonly series: string;
  /** The label whose values are offered. @default name */
  readonly labelName?: string;
  /** Offer several values and "All" (matching every value, including none). @default true */
  readonly multi?: boolean;
}

/** A variable listing the values of a label, refreshed with the time range. */
export function labelVariable(o: LabelVariableOptions): QueryVariableBuilder {
  const query = `label_values(${o.series}, ${o.labelName ?? o.name})`;
  const v = new QueryVariableBuilder(o.name)
    .label(o.label ?? o.name)
    .datasource(datasourceRef('prometheus'))
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc);
  if (o.multi ?? true) v.multi(true).includeAll(true).allValue('.*').current({ selected: true, text: 'All', value: '$__all' });
  return v;
}

export interface SpellingsVariableOptions {
  readonly name: string;
  readonly label?: string;
  /** The labels that carry the value, one per spelling (`route`, `handler`, `http_route`). */
  readonly labels: readonly string[];
  /** The series the values are read from, e.g. `http_requests_total{namespace=~"$namespace"}`. */
  readonly series: readonly string[];
}

/**
 * A variable listing the values of a label that instrumentations spell
 * differently, over several series: `label_values()` reads one label of one
 * selector, so this is a `query_result()` over the time range whose regex
 * takes the value of whichever label a result has. Multi, with "All" (`.*`).
 */
export function spellingsVariable(o: SpellingsVariableOptions): QueryVariableBuilder {
  const by = o.labels.join(', ');
  const query = `query_result(${o.series.map((s) => `group by (${by}) (last_over_time(${s}[$__range]))`).join(' or ')})`;
  return new QueryVariableBuilder(o.name)
    .label(o.label ?? o.name)
    .datasource(datasourceRef('prometheus'))
    .query(query)
    .definition(query)
    .regex(`/\\b(?:${o.labels.join('|')})="([^"]+)"/`)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ selected: true, text: 'All', value: '$__all' });
}

/** A free-text variable (a trace id, a search term). */
export function textVariable(name: string, label: string, defaultValue = ''): TextBoxVariableBuilder {
  return new TextBoxVariableBuilder(name).label(label).defaultValue(defaultValue).current({ selected: false, text: defaultValue, value: defaultValue });
}

/** Adds a titled row followed by its panels; skips the row when no panel is left (a datasource the environment lacks). */
export function section(d: DashboardBuilder, title: string, panels: ReadonlyArray<Builder<Panel> | false | undefined>): DashboardBuilder {
  const kept = panels.filter((p): p is Builder<Panel> => Boolean(p));
  if (kept.length === 0) return d;
  d.withRow(new RowBuilder(title));
  for (const p of kept) d.withPanel(p);
  return d;
}
