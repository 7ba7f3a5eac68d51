import type { SynthesizedEnvironment } from '../cli/synthesize.js';
import { renderDiagram, SIGNAL_COLOURS } from './diagram.js';
import { html, type Markup } from './html.js';
import { buildReportModel, type DashboardSummary, type ReportModel, type SeveritySection, type WorkloadRow } from './model.js';
import { formatBytes, formatCpu } from './quantities.js';

const CSS = `
:root { color-scheme: light; --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --soft: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #fff; }
header { padding: 20px 32px; background: #102a43; color: #f0f4f8; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #bcccdc; }
main { padding: 8px 32px 40px; max-width: 1400px; }
h2 { margin: 28px 0 10px; font-size: 18px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { margin: 18px 0 6px; font-size: 15px; }
.note { color: var(--muted); font-size: 13px; margin: 4px 0 10px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 180px; background: var(--soft); }
.card .value { font-size: 20px; font-weight: 600; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; font-size: 13px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--soft); padding: 1px 4px; border-radius: 4px; }
.diagram { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; background: #fcfdfe; }
svg .box rect { fill: #fff; stroke: #486581; stroke-width: 1.5; }
svg .box.apps rect { fill: #f0f4f8; stroke-dasharray: 6 4; }
svg .box.receiver rect { fill: #fff5f5; stroke: ${SIGNAL_COLOURS.alerts}; }
svg .box-label { font-size: 14px; font-weight: 600; fill: #102a43; }
svg .box-label.long { font-size: 12px; }
svg .box-detail { font-size: 11px; fill: #52606d; }
svg .edge-label { font-size: 11px; fill: #334e68; paint-order: stroke; stroke: #fcfdfe; stroke-width: 4px; }
svg .scraped { fill: ${SIGNAL_COLOURS.metrics}; stroke: #fff; stroke-width: 1.5; }
svg .legend { font-size: 12px; fill: #334e68; }
.sev { display: inline-block; min-width: 30px; text-align: center; border-radius: 4px; color: #fff; font-weight: 700; padding: 0 6px; }
.sev-P1 { background: #c92a2a; } .sev-P2 { background: #e8590c; } .sev-P3 { background: #f08c00; } .sev-P4 { background: #5c7cfa; } .sev-other { background: #868e96; }
.chip { display: inline-block; border: 1px solid var(--line); border-radius: 12px; padding: 0 8px; margin: 2px 4px 2px 0; background: #fff; font-size: 13px; }
.when { color: var(--muted); font-size: 12px; }
.signal { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: middle; }
.panels { color: var(--muted); font-size: 13px; }
.panels .row { color: var(--ink); font-weight: 600; }
details summary { cursor: pointer; }
`;

const cpuMem = (r: { cpu: number; memory: number }): string => `${formatCpu(r.cpu)} CPU / ${formatBytes(r.memory)}`;

function header(m: ReportModel): Markup {
  const labels = Object.entries(m.externalLabels);
  return html`<header><h1>obstack environment “${m.name}”</h1><p>tier ${m.tier} · namespace <code>${m.namespace}</code>${labels.length > 0 ? html` · external labels ${labels.map(([k, v]) => html`<code>${k}=${v}</code> `)}` : ''}</p></header>`;
}

function footprint(m: ReportModel): Markup {
  const f = m.footprint;
  const perNode = f.perNode.workloads.length > 0
    ? html`<div class="card"><div class="label">per node (DaemonSets)</div><div class="value">${cpuMem(f.perNode.requests)}</div><div class="note">requests on every node, limits ${cpuMem(f.perNode.limits)}: ${f.perNode.workloads.join(', ')}</div></div>`
    : '';
  return html`<section id="footprint"><h2>Footprint</h2>
<div class="cards">
<div class="card"><div class="label">requests</div><div class="value" data-total="requests">${cpuMem(f.requests)}</div></div>
<div class="card"><div class="label">limits</div><div class="value" data-total="limits">${cpuMem(f.limits)}</div></div>
<div class="card"><div class="label">persistent storage</div><div class="value" data-total="storage">${formatBytes(f.storageBytes)}</div><div class="note">${f.volumes} volume(s)</div></div>
${perNode}
</div>
<p class="note">Totals are Deployments and StatefulSets times their replicas (at the replicas set, not an autoscaler's maximum). DaemonSets run one pod on every node, so they are counted per node and not in the totals. Jobs and CronJobs run briefly and are not counted.</p></section>`;
}

function workloadTable(rows: readonly WorkloadRow[]): Markup {
  const body = rows.map((w) => html`<tr data-workload="${w.name}">
<td><strong>${w.name}</strong></td><td>${w.kind}</td>
<td class="num">${w.replicas === undefined ? 'per node' : w.maxReplicas !== undefined ? `${w.replicas} (up to ${w.maxReplicas})` : String(w.replicas)}</td>
<td class="num">${formatCpu(w.requests.cpu)} / ${formatCpu(w.limits.cpu)}</td>
<td class="num">${formatBytes(w.requests.memory)} / ${formatBytes(w.limits.memory)}</td>
<td>${w.storage.length === 0 ? '—' : w.storage.map((s) => html`${s.size}${s.storageClass ? html` <code>${s.storageClass}</code>` : ''} ${w.replicas !== undefined && w.replicas > 1 ? `× ${w.replicas}` : ''}<br>`)}</td>
<td>${w.retention ?? '—'}</td></tr>`);
  return html`<section id="components"><h2>Components</h2>
<p class="note">One row per Deployment, StatefulSet and DaemonSet. Requests / limits are per pod, summed over its containers; storage is the volume claim of each pod.</p>
<table><thead><tr><th>workload</th><th>kind</th><th class="num">replicas</th><th class="num">CPU req / lim</th><th class="num">memory req / lim</th><th>storage (size, class)</th><th>retention</th></tr></thead><tbody>${body}</tbody></table></section>`;
}

function flowTable(m: ReportModel): Markup {
  const label = (id: string): string => m.nodes.find((n) => n.id === id)?.label ?? id;
  const rows = m.flows.map((f) => html`<tr><td><span class="signal" style="background:${SIGNAL_COLOURS[f.signal]}"></span>${f.signal}</td><td>${label(f.from)} → ${label(f.to)}</td><td>${f.label}</td><td class="note">${f.evidence}</td></tr>`);
  return html`<details><summary>${m.flows.length} flows and where each was read from</summary><table><thead><tr><th>signal</th><th>flow</th><th>what</th><th>from</th></tr></thead><tbody>${rows}</tbody></table></details>`;
}

function severitySection(s: SeveritySection, m: ReportModel): Markup {
  const channels = (name: string): string => {
    const r = m.receivers.find((x) => x.name === name);
    return r && r.channels.length > 0 ? r.channels.join(', ') : 'dropped';
  };
  const drops = (name: string): boolean => (m.receivers.find((x) => x.name === name)?.channels.length ?? 0) === 0;
  // A route to a receiver without channels (Watchdog's) drops alerts on purpose: said once, not as an "unless" on every other line.
  const dropped = s.deliveries.filter((d) => drops(d.receiver) && d.when.length > 0).map((d) => d.when.join(', '));
  const deliveries = s.deliveries
    .filter((d) => !drops(d.receiver))
    .map((d) => {
      const unless = d.unless.filter((u) => !dropped.includes(u));
      return html`<li><span class="chip"><strong>${d.receiver}</strong>: ${channels(d.receiver)}</span>${d.when.length > 0 ? html`<span class="when">when ${d.when.join(', ')}</span> ` : ''}${unless.length > 0 ? html`<span class="when">unless ${unless.join('; ')}</span>` : ''}</li>`;
    });
  if (dropped.length > 0) deliveries.push(html`<li class="when">not delivered: ${dropped.join('; ')}</li>`);
  const alerts = s.alerts.map((a) => html`<tr><td><code>${a.alert}</code></td><td>${a.service}</td><td>${a.team ?? ''}</td><td>${a.summary}</td><td>${a.for ?? ''}</td><td class="note">${a.file}</td></tr>`);
  return html`<section class="severity" data-severity="${s.severity}"><h3><span class="sev sev-${s.severity}">${s.severity}</span> ${s.alerts.length} alert(s)</h3>
${s.severity === 'other' ? html`<p class="note">Alerts without a P1–P4 severity.</p>` : deliveries.length > 0 ? html`<ul class="deliveries">${deliveries}</ul>` : html`<p class="note">No Alertmanager in this environment: these alerts reach no one.</p>`}
${alerts.length > 0 ? html`<details><summary>the ${s.alerts.length} alert(s)</summary><table><thead><tr><th>alert</th><th>service</th><th>team</th><th>summary</th><th>for</th><th>file</th></tr></thead><tbody>${alerts}</tbody></table></details>` : ''}</section>`;
}

function alertsSection(m: ReportModel): Markup {
  const teams = m.teams.length > 0
    ? html`<p>Teams: ${m.teams.map((t) => html`<span class="chip"><strong>${t.name}</strong> namespaces ${t.namespaces.join(', ') || '—'}${t.services.length > 0 ? `; services ${t.services.join(', ')}` : ''}</span>`)}</p>`
    : '';
  return html`<section id="alerts"><h2>Alerts by severity</h2>
<p class="note">Receivers each severity reaches, read from alertmanager.yml's routing tree; runbooks under <code>${m.runbookBaseUrl}</code>.</p>${teams}
${m.severities.map((s) => severitySection(s, m))}</section>`;
}

function dashboardsSection(dashboards: readonly DashboardSummary[]): Markup {
  if (dashboards.length === 0) return html`<section id="dashboards"><h2>Dashboards</h2><p class="note">No Grafana in this environment.</p></section>`;
  const folders = [...new Set(dashboards.map((d) => d.folder))].sort((a, b) => a.localeCompare(b));
  return html`<section id="dashboards"><h2>Dashboards</h2>${folders.map((folder) => {
    const list = dashboards.filter((d) => d.folder === folder);
    return html`<h3>${folder} <span class="note">(${list.length})</span></h3><table><tbody>${list.map((d) => html`<tr data-dashboard="${d.uid}"><td style="width:28%"><strong>${d.title}</strong><br><code>${d.uid}</code></td><td class="panels">${d.panels.map((p, i) => html`${i > 0 ? ' · ' : ''}<span class="${p.row ? 'row' : 'panel'}">${p.title}</span>`)}</td></tr>`)}</tbody></table>`;
  })}</section>`;
}

/** The report of one synthesized environment: one self-contained HTML page (inline CSS and SVG, nothing loaded from anywhere). */
export function renderReport(result: SynthesizedEnvironment): string {
  const m = buildReportModel(result);
  const page = html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>obstack report: ${m.name}</title>
<style>${CSS}</style></head>
<body>${header(m)}<main>
<section id="diagram-section"><h2>Components and flows</h2>
<p class="note">Boxes are the components this environment enables; arrows are the data moving between them, read from the NetworkPolicies, prometheus.yml and alertmanager.yml (dashed: Prometheus scrapes an exporter; an orange dot: Prometheus scrapes that component).</p>
<div class="diagram">${renderDiagram(m.nodes, m.flows)}</div>${flowTable(m)}</section>
${footprint(m)}
${workloadTable(m.workloads)}
${alertsSection(m)}
${dashboardsSection(m.dashboards)}
</main></body></html>
`;
  return page.text;
}
