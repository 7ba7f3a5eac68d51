import * as units from '@grafana/grafana-foundation-sdk/units';
import { DATA_PANELS, type PanelModel, asArray, isObject, str } from './model.js';
import type { FindingSink } from './rule-table.js';

/** Grafana's unit ids, from the SDK the dashboards are written with. */
const GRAFANA_UNITS: ReadonlySet<string> = new Set((Object.values(units) as unknown[]).filter((u): u is string => typeof u === 'string'));
/** Grafana's parametrised units (`suffix: req`, `currency:€`, `time:HH:mm`…). */
const CUSTOM_UNIT = /^(prefix|suffix|time|si|count|currency|bool):/;
/** Panel types whose values are numbers shown with a unit (tables, heatmaps and state panels often show text or buckets). */
const NUMBER_PANELS = new Set(['timeseries', 'graph', 'stat', 'singlestat', 'gauge', 'bargauge']);

/** Every unit a panel sets: the field default, overrides, and the old graph and singlestat formats. */
function unitsOf(panel: Record<string, unknown>): string[] {
  const out: string[] = [];
  const fieldConfig = isObject(panel.fieldConfig) ? panel.fieldConfig : {};
  const defaults = isObject(fieldConfig.defaults) ? fieldConfig.defaults : {};
  const unit = str(defaults.unit);
  if (unit) out.push(unit);
  for (const o of asArray(fieldConfig.overrides)) {
    if (!isObject(o)) continue;
    for (const p of asArray(o.properties)) if (isObject(p) && p.id === 'unit' && typeof p.value === 'string' && p.value !== '') out.push(p.value);
  }
  for (const axis of asArray(panel.yaxes)) if (isObject(axis) && typeof axis.format === 'string' && axis.format !== '') out.push(axis.format);
  const format = str(panel.format);
  if (format) out.push(format);
  return out;
}

/**
 * The panel rules of dashboard-linter: panel-no-targets (a data panel with no
 * query shows nothing) and, when policy checks are on, panel-title-description
 * and panel-units (a reader knows what a panel shows and in what unit).
 */
export function checkPanel(p: PanelModel, policy: boolean, sink: FindingSink): void {
  if (!p.queries || !DATA_PANELS.has(p.type)) return;
  if (p.targets.length === 0) sink.add('panel-no-targets', `is a ${p.type} panel with no query: it shows no data`, p.describe);
  if (!policy) return;
  const title = str(p.json.title)?.trim() ?? '';
  const description = str(p.json.description)?.trim() ?? '';
  if (title === '' || description === '') {
    const missing = [title === '' ? 'title' : '', description === '' ? 'description' : ''].filter(Boolean).join(' and ');
    sink.add('panel-title-description', `has no ${missing}`, p.describe);
  }
  if (!NUMBER_PANELS.has(p.type)) return;
  const set = unitsOf(p.json);
  if (set.length === 0) {
    sink.add('panel-units', 'has no unit: its values are shown as bare numbers', p.describe);
    return;
  }
  for (const u of new Set(set)) {
    if (!GRAFANA_UNITS.has(u) && !CUSTOM_UNIT.test(u)) sink.add('panel-units', `has the unit "${u}", which is not one of Grafana's: it is shown as a plain suffix, unscaled`, p.describe);
  }
}
