import { html, type Markup } from './html.js';
import type { DiagramNode, Flow, Signal } from './model.js';

/** Colours of the signals, shared by the arrows, the legend and the tables. */
export const SIGNAL_COLOURS: Readonly<Record<Signal, string>> = {
  metrics: '#e8590c',
  alerts: '#c92a2a',
  logs: '#0c8599',
  traces: '#7048e8',
  analytics: '#1c5d99',
};

const BOX_W = 184;
const BOX_H = 52;
const COL_W = 250;
const ROW_H = 80;
const MARGIN = 24;
const LEGEND_H = 36;

/**
 * Where each box goes: (column, row). Columns run from where data starts to
 * where people see it: sources, collectors, stores and routing, views, and
 * receivers. Fixed places, so a component sits at the same spot in every
 * environment and a missing one leaves its place empty.
 */
const PLACES: Readonly<Record<string, readonly [number, number]>> = {
  'node-exporter': [0, 0],
  'kube-state-metrics': [0, 1],
  prometheus: [1, 0.5],
  alertmanager: [2, 0.5],
  grafana: [3, 2.5],
  filebeat: [0, 3],
  logstash: [1, 3],
  elasticsearch: [2, 3.5],
  kibana: [3, 4],
  apps: [0, 5.5],
  jaeger: [1, 4.8],
  ingest: [1, 6.2],
  postgres: [2, 6.2],
};

interface Box {
  readonly node: DiagramNode;
  readonly x: number;
  readonly y: number;
}

function layout(nodes: readonly DiagramNode[]): Box[] {
  const receivers = nodes.filter((n) => n.kind === 'receiver');
  const boxes: Box[] = [];
  for (const node of nodes) {
    const place = PLACES[node.id];
    if (place) boxes.push({ node, x: MARGIN + place[0] * COL_W, y: MARGIN + LEGEND_H + place[1] * ROW_H });
  }
  // Receivers stack in the last column, from the top, next to Alertmanager.
  receivers.forEach((node, i) => boxes.push({ node, x: MARGIN + 4 * COL_W, y: MARGIN + LEGEND_H + i * (BOX_H + 14) }));
  return boxes;
}

type Side = 'left' | 'right' | 'top' | 'bottom';

/** Which sides of its two boxes an arrow leaves and enters by: left to right across columns, else up or down. */
function sides(a: Box, b: Box): [Side, Side] {
  if (Math.abs(a.x - b.x) >= COL_W / 2) return b.x > a.x ? ['right', 'left'] : ['left', 'right'];
  return b.y > a.y ? ['bottom', 'top'] : ['top', 'bottom'];
}

interface Routed {
  readonly flow: Flow;
  readonly from: Box;
  readonly to: Box;
  readonly sides: [Side, Side];
}

/**
 * Spreads the ends of the arrows that share one side of a box along it, in
 * the order of the boxes at their other ends, so that arrows into Grafana (or
 * out of Alertmanager) do not meet in one point.
 */
function ports(routed: readonly Routed[]): Map<string, [number, number]> {
  const groups = new Map<string, { key: string; other: Box; box: Box; side: Side }[]>();
  routed.forEach((r, i) => {
    for (const [end, box, other, side] of [['s', r.from, r.to, r.sides[0]], ['e', r.to, r.from, r.sides[1]]] as const) {
      const g = `${box.node.id}:${side}`;
      groups.set(g, [...(groups.get(g) ?? []), { key: `${i}:${end}`, other, box, side }]);
    }
  });
  const out = new Map<string, [number, number]>();
  for (const list of groups.values()) {
    const horizontal = list[0]?.side === 'left' || list[0]?.side === 'right';
    list.sort((p, q) => (horizontal ? p.other.y - q.other.y || p.other.x - q.other.x : p.other.x - q.other.x || p.other.y - q.other.y));
    list.forEach((p, i) => {
      const t = (i + 1) / (list.length + 1);
      const { box, side } = p;
      const point: [number, number] =
        side === 'left' ? [box.x, box.y + BOX_H * t]
          : side === 'right' ? [box.x + BOX_W, box.y + BOX_H * t]
            : side === 'top' ? [box.x + BOX_W * t, box.y]
              : [box.x + BOX_W * t, box.y + BOX_H];
      out.set(p.key, point);
    });
  }
  return out;
}

function edgePath(s: [number, number], e: [number, number], side: Side): { d: string; mid: [number, number] } {
  let c1: [number, number];
  let c2: [number, number];
  if (side === 'left' || side === 'right') {
    const k = Math.max(40, Math.abs(e[0] - s[0]) / 2) * (side === 'right' ? 1 : -1);
    c1 = [s[0] + k, s[1]];
    c2 = [e[0] - k, e[1]];
  } else {
    const k = Math.max(20, Math.abs(e[1] - s[1]) / 2) * (side === 'bottom' ? 1 : -1);
    c1 = [s[0], s[1] + k];
    c2 = [e[0], e[1] - k];
  }
  const f = (p: [number, number]) => `${p[0].toFixed(1)} ${p[1].toFixed(1)}`;
  // The point of the curve at t = 0.5, where the label goes.
  const mid: [number, number] = [(s[0] + 3 * c1[0] + 3 * c2[0] + e[0]) / 8, (s[1] + 3 * c1[1] + 3 * c2[1] + e[1]) / 8];
  return { d: `M ${f(s)} C ${f(c1)}, ${f(c2)}, ${f(e)}`, mid };
}

/**
 * An arrow to a receiver: right along its own row, down (or up) in the gap
 * before the receivers' column, then right into the receiver. Later arrows
 * turn earlier, so that none crosses another and none passes behind the
 * boxes between Alertmanager and its receivers.
 */
function busPath(s: [number, number], e: [number, number], index: number, count: number): { d: string; mid: [number, number] } {
  const gap = COL_W - BOX_W;
  const step = Math.min(5, (gap - 24) / Math.max(1, count));
  const x = e[0] - 12 - index * step;
  const r = Math.min(6, Math.abs(e[1] - s[1]) / 2);
  const dir = e[1] >= s[1] ? 1 : -1;
  const f = (n: number) => n.toFixed(1);
  const d = r < 0.5
    ? `M ${f(s[0])} ${f(s[1])} L ${f(e[0])} ${f(e[1])}`
    : `M ${f(s[0])} ${f(s[1])} L ${f(x - r)} ${f(s[1])} Q ${f(x)} ${f(s[1])} ${f(x)} ${f(s[1] + dir * r)} L ${f(x)} ${f(e[1] - dir * r)} Q ${f(x)} ${f(e[1])} ${f(x + r)} ${f(e[1])} L ${f(e[0])} ${f(e[1])}`;
  return { d, mid: [(s[0] + x) / 2, s[1]] };
}

/** Boxes whose only job is to be scraped get an arrow to Prometheus; every other scraped box gets a badge instead of a crossing line. */
const EXPORTERS = new Set(['node-exporter', 'kube-state-metrics']);

/** The components and their flows as one inline SVG: a box per enabled component, an arrow per flow. */
export function renderDiagram(nodes: readonly DiagramNode[], flows: readonly Flow[]): Markup {
  const boxes = layout(nodes);
  const byId = new Map(boxes.map((b) => [b.node.id, b]));
  const width = Math.max(...boxes.map((b) => b.x + BOX_W), 4 * COL_W) + MARGIN;
  const height = Math.max(...boxes.map((b) => b.y + BOX_H), MARGIN + LEGEND_H + BOX_H) + MARGIN;
  const signals = Object.keys(SIGNAL_COLOURS) as Signal[];
  const markers = signals.map((s) => html`<marker id="arrow-${s}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="${SIGNAL_COLOURS[s]}"/></marker>`);
  const legend = signals.map((s, i) => html`<g transform="translate(${MARGIN + i * 150} ${MARGIN})"><line x1="0" y1="8" x2="34" y2="8" stroke="${SIGNAL_COLOURS[s]}" stroke-width="2.5" ${s === 'metrics' ? html`stroke-dasharray="5 4"` : ''} marker-end="url(#arrow-${s})"/><text x="42" y="12" class="legend">${s}</text></g>`);
  const drawn = flows.filter((f) => f.label !== 'scrape' || EXPORTERS.has(f.from));
  const scraped = new Set(flows.filter((f) => f.label === 'scrape' && !EXPORTERS.has(f.from)).map((f) => f.from));
  const routed: Routed[] = drawn.flatMap((flow) => {
    const from = byId.get(flow.from);
    const to = byId.get(flow.to);
    return from && to ? [{ flow, from, to, sides: sides(from, to) }] : [];
  });
  const at = ports(routed);
  const toReceivers = routed.filter((r) => r.to.node.kind === 'receiver');
  const edges = routed.map((r, i) => {
    const f = r.flow;
    const s = at.get(`${i}:s`) ?? [r.from.x, r.from.y];
    const e = at.get(`${i}:e`) ?? [r.to.x, r.to.y];
    const k = toReceivers.indexOf(r);
    const { d, mid } = k >= 0 && r.sides[0] === 'right' ? busPath(s, e, k, toReceivers.length) : edgePath(s, e, r.sides[0]);
    const scrape = f.label === 'scrape';
    const label = scrape || f.label === 'notify' ? '' : html`<text class="edge-label" x="${mid[0].toFixed(1)}" y="${(mid[1] - 5).toFixed(1)}" text-anchor="middle">${f.label}</text>`;
    return html`<g class="flow" data-signal="${f.signal}" data-from="${f.from}" data-to="${f.to}"><title>${f.from} → ${f.to}: ${f.signal} (${f.label})</title><path d="${d}" fill="none" stroke="${SIGNAL_COLOURS[f.signal]}" stroke-width="${scrape ? 1.6 : 2.2}" ${scrape ? html`stroke-dasharray="5 4"` : ''} marker-end="url(#arrow-${f.signal})"/>${label}</g>`;
  });
  const rects = boxes.map((b) => {
    const cls = b.node.kind;
    const detail = b.node.detail.length > 30 ? `${b.node.detail.slice(0, 29)}…` : b.node.detail;
    const badge = scraped.has(b.node.id) ? html`<circle class="scraped" cx="${BOX_W - 10}" cy="10" r="5"><title>scraped by Prometheus</title></circle>` : '';
    return html`<g class="box ${cls}" data-component="${b.node.id}" transform="translate(${b.x} ${b.y})"><title>${b.node.label}: ${b.node.detail}</title><rect width="${BOX_W}" height="${BOX_H}" rx="8"/>${badge}<text class="box-label${b.node.label.length > 18 ? ' long' : ''}" x="${BOX_W / 2}" y="22" text-anchor="middle">${b.node.label}</text><text class="box-detail" x="${BOX_W / 2}" y="40" text-anchor="middle">${detail}</text></g>`;
  });
  const scrapedLegend = html`<g transform="translate(${MARGIN + signals.length * 150} ${MARGIN})"><circle class="scraped" cx="6" cy="8" r="5"/><text x="18" y="12" class="legend">scraped by Prometheus</text></g>`;
  return html`<svg id="diagram" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="components and flows"><defs>${markers}</defs>${legend}${scrapedLegend}<g class="edges">${edges}</g><g class="boxes">${rects}</g></svg>`;
}
