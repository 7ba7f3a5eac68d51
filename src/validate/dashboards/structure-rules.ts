import { type DashboardModel, type Json, type PanelModel, isObject } from './model.js';
import type { FindingSink } from './rule-table.js';

const CONFIGMAP_LIMIT = 1024 * 1024;
const GRID_COLUMNS = 24;

/** dashboard-size: the JSON fits its ConfigMap. */
export function checkSize(text: string, maxBytes: number | undefined, sink: FindingSink): void {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: a text under a third of the limit cannot exceed it.
  if (text.length * 3 < (maxBytes ?? CONFIGMAP_LIMIT - 4096)) return;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > (maxBytes ?? CONFIGMAP_LIMIT - 4096)) sink.add('dashboard-size', `is ${bytes} bytes; its ConfigMap must stay under ${CONFIGMAP_LIMIT} bytes (1 MiB): split the dashboard`);
}

/** dashboard-uid: a uid Grafana keeps. */
export function checkUid(d: Json, sink: FindingSink): void {
  if (typeof d.uid !== 'string' || d.uid === '') sink.add('dashboard-uid', 'has no uid: Grafana would give it a new one on every load, breaking links to it', undefined, 'warning');
  else if (d.uid.length > 40) sink.add('dashboard-uid', `uid "${d.uid}" is longer than Grafana's 40 characters`, 'uid');
}

/** dashboard-panel-id: panel ids are unique (links, alerts and library panels address panels by id). */
export function checkPanelIds(model: DashboardModel, sink: FindingSink): void {
  const ids = new Map<number, string>();
  for (const p of model.panels) {
    const id = p.json.id;
    if (typeof id !== 'number' || p.json.repeatPanelId !== undefined) continue;
    const first = ids.get(id);
    if (first !== undefined) sink.add('dashboard-panel-id', `has id ${id}, already used by ${first}`, p.describe);
    else ids.set(id, p.describe);
  }
}

interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

function gridPos(panel: Json): Box | undefined {
  const g = panel.gridPos;
  if (!isObject(g)) return undefined;
  const { x, y, w, h } = g;
  if (typeof x !== 'number' || typeof y !== 'number' || typeof w !== 'number' || typeof h !== 'number') return undefined;
  return { x, y, w, h };
}

const overlaps = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/**
 * dashboard-grid. Grafana compacts the grid vertically: a panel placed over
 * the one above it is pushed down, which real dashboards rely on (grafonnet
 * emits such positions). What it cannot honour is two panels put side by side
 * on the same line whose columns collide: one of them lands below the other.
 * Rows take a line of their own and push what shares it down, so they are
 * left out. A collapsed row's panels are a grid of their own.
 */
export function checkGrid(model: DashboardModel, sink: FindingSink): void {
  const checkList = (list: readonly PanelModel[]) => {
    // Only panels on the same line are compared.
    const lines = new Map<number, Array<{ p: PanelModel; box: Box }>>();
    for (const p of list) {
      if (p.type === 'row') continue;
      const box = gridPos(p.json);
      if (!box) continue;
      if (box.x < 0 || box.w <= 0 || box.x + box.w > GRID_COLUMNS) sink.add('dashboard-grid', `spans columns ${box.x} to ${box.x + box.w}, outside the grid's ${GRID_COLUMNS} columns`, p.describe);
      let line = lines.get(box.y);
      if (!line) lines.set(box.y, (line = []));
      for (const other of line) {
        if (overlaps(box, other.box)) {
          sink.add('dashboard-grid', `overlaps ${other.p.describe} on the same line (x=${box.x} w=${box.w} against x=${other.box.x} w=${other.box.w}, both at y=${box.y})`, p.describe);
        }
      }
      line.push({ p, box });
    }
  };
  checkList(model.top);
  for (const row of model.top) if (row.type === 'row' && row.children.length > 0) checkList(row.children);
}
