import * as units from '@grafana/grafana-foundation-sdk/units';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { BURN_RATE_WINDOWS, DASHBOARD_UIDS, sloErrorRatioRecord } from '../src/authoring/index.js';
import { barsPanel, type DashboardContext, labelVariable, promql, promqlInstant, section, stackDashboard, tablePanel, timeseriesPanel } from './common/index.js';

const SLO = 'slo=~"$slo"';

/**
 * Error budget and burn rates of every SLO, read from the series the SLO
 * compiler records (src/authoring/slo.ts): any SLO added to rules/slos.ts
 * appears here without touching the dashboard.
 */
export function slos(_ctx: DashboardContext): DashboardBuilder {
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.slos,
    title: 'SLOs',
    description: 'Error budget left and burn rates of each SLO, with the burn-rate alerts of the multi-window policy.',
    tags: ['slo'],
    datasources: ['prometheus'],
    from: 'now-7d',
  }).withVariable(labelVariable({ name: 'slo', label: 'SLO', series: 'slo:objective:ratio' }));

  section(d, 'Error budget', [
    barsPanel({
      title: 'Error budget left',
      description: 'Share of each SLO\'s error budget left over its window: at 0 the objective is missed.',
      unit: units.PercentUnit,
      min: 0,
      max: 1,
      baseColor: 'red',
      thresholds: [[0.25, 'orange'], [0.5, 'green']],
      queries: [promql(`slo:error_budget_remaining:ratio{${SLO}}`, '{{slo}}')],
    }),
    tablePanel({
      title: 'Objectives',
      description: 'Each SLO, its service, objective and the budget left now.',
      queries: [promqlInstant(`slo:objective:ratio{${SLO}}`), promqlInstant(`slo:error_budget_remaining:ratio{${SLO}}`)],
      transformations: [
        { id: 'merge', options: {} },
        { id: 'organize', options: { excludeByName: { Time: true, __name__: true }, renameByName: { 'Value #A': 'objective', 'Value #B': 'budget left' } } },
      ],
    }),
    timeseriesPanel({
      title: 'Error budget left over time',
      description: 'How the budget was spent: steps down are incidents.',
      unit: units.PercentUnit,
      w: 24,
      queries: [promql(`slo:error_budget_remaining:ratio{${SLO}}`, '{{slo}}')],
    }),
  ]);

  section(d, 'Burn rate', [
    ...BURN_RATE_WINDOWS.map((w) =>
      timeseriesPanel({
        title: `Burn rate over ${w.long} (${w.severity} above ${w.burnRate}x)`,
        description: `Error ratio over ${w.long} divided by the error budget (1 - objective): 1 spends the budget exactly over the SLO window. A ${w.severity} alert fires when both the ${w.long} and ${w.short} burn rates exceed ${w.burnRate}.`,
        unit: units.Short,
        w: 6,
        thresholds: [[w.burnRate, 'red']],
        queries: [promql(`${sloErrorRatioRecord(w.long)}{${SLO}} / on (slo) group_left () (1 - slo:objective:ratio{${SLO}})`, '{{slo}}')],
      }),
    ),
    tablePanel({
      title: 'Burn-rate alerts firing',
      description: 'Error-budget alerts firing now, by SLO, severity and window.',
      w: 24,
      queries: [promqlInstant(`ALERTS{alertname=~".+ErrorBudgetBurn", alertstate="firing", ${SLO}}`)],
      transformations: [{ id: 'organize', options: { excludeByName: { Time: true, Value: true, __name__: true } } }],
    }),
  ]);
  return d;
}
