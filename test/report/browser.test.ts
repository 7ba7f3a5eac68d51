import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthEnvironment } from '../../src/project/index.js';
import { buildReportModel, renderReport, SIGNAL_COLOURS } from '../../src/report/index.js';
import { example } from '../constructs/helpers.js';
import { decodePng } from './png.js';

/** Where the page and its screenshot stay after the run, for a person to look at (git-ignored). */
const OUTPUT = join(import.meta.dirname, 'output');

function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser']) {
    const r = spawnSync(name, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return name;
  }
  return undefined;
}
const CHROMIUM = findChromium();

interface BrowserRun {
  readonly stdout: string;
  readonly stderr: string;
  /** Lines of the page's console (Chromium logs them as INFO:CONSOLE). */
  readonly console: readonly string[];
  /** Network requests the page made (Chromium's own background requests, "not an origin", are left out). */
  readonly pageRequests: readonly string[];
}

/** Opens a page in a fresh headless Chromium profile, logging its console and every network request. */
function browse(page: string, extra: readonly string[]): BrowserRun {
  const profile = mkdtempSync(join(tmpdir(), 'obstack-chromium-'));
  const netLog = join(profile, 'net-log.json');
  try {
    const r = spawnSync(CHROMIUM ?? 'chromium', [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${join(profile, 'user-data')}`,
      '--enable-logging=stderr', '--v=0', `--log-net-log=${netLog}`, ...extra, pathToFileURL(page).href,
    ], { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 * 1024 * 1024 });
    if (r.error) throw r.error;
    const log = JSON.parse(readFileSync(netLog, 'utf8')) as { constants: { logEventTypes: Record<string, number> }; events: { type: number; params?: { initiator?: string; url?: string } }[] };
    const startJob = log.constants.logEventTypes.URL_REQUEST_START_JOB;
    const pageRequests = log.events
      .filter((e) => e.type === startJob && e.params?.url !== undefined && e.params.initiator !== 'not an origin')
      .map((e) => e.params?.url ?? '');
    return { stdout: r.stdout, stderr: r.stderr, console: r.stderr.split('\n').filter((l) => /:CONSOLE[:(]/.test(l)), pageRequests };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

const TITLE = CHROMIUM
  ? 'the prod report in a real browser (Chromium, headless)'
  : 'the prod report in a real browser: SKIPPED, chromium is not installed (apt-get install chromium; .ci/run installs it)';

describe.skipIf(!CHROMIUM)(TITLE, () => {
  const result = synthEnvironment(example('prod')).result;
  const model = buildReportModel(result);
  const page = join(OUTPUT, 'prod.html');
  const screenshot = join(OUTPUT, 'prod.png');
  let shot: BrowserRun;
  let dom: BrowserRun;

  beforeAll(() => {
    mkdirSync(OUTPUT, { recursive: true });
    rmSync(screenshot, { force: true });
    writeFileSync(page, renderReport(result));
    shot = browse(page, [`--screenshot=${screenshot}`, '--window-size=1400,2000']);
    dom = browse(page, ['--dump-dom']);
  }, 180_000);

  it('loads nothing from the network and logs nothing to the console', () => {
    expect(shot.pageRequests).toEqual([]);
    expect(dom.pageRequests).toEqual([]);
    expect(shot.console).toEqual([]);
    expect(dom.console).toEqual([]);
  });

  it('renders a screenshot that is not blank, with the arrows of the diagram in their colours', () => {
    expect(existsSync(screenshot)).toBe(true);
    expect(statSync(screenshot).size).toBeGreaterThan(50_000);
    const png = decodePng(readFileSync(screenshot));
    expect([png.width, png.height]).toEqual([1400, 2000]);
    const colours = new Set<string>();
    const counts = new Map<string, number>();
    const near = (p: readonly number[], hex: string) => [1, 3, 5].every((o, i) => Math.abs((p[i] ?? 0) - Number.parseInt(hex.slice(o, o + 2), 16)) <= 12);
    for (let y = 0; y < png.height; y += 2) {
      for (let x = 0; x < png.width; x += 2) {
        const p = png.pixel(x, y);
        colours.add(p.join(','));
        for (const [signal, hex] of Object.entries(SIGNAL_COLOURS)) if (near(p, hex)) counts.set(signal, (counts.get(signal) ?? 0) + 1);
      }
    }
    expect(colours.size).toBeGreaterThan(200);
    // Every signal's arrows are drawn: metrics, alerts, logs, traces and analytics each colour some pixels.
    for (const signal of Object.keys(SIGNAL_COLOURS)) expect(counts.get(signal) ?? 0, signal).toBeGreaterThan(20);
  });

  it("holds the diagram's SVG with one box per enabled component and an arrow per flow", () => {
    const html = dom.stdout;
    expect(html).toContain('<svg id="diagram"');
    const boxes = [...html.matchAll(/<g class="box component" data-component="([a-z-]+)"/g)].map((m) => m[1]);
    expect(boxes).toEqual(model.nodes.filter((n) => n.kind === 'component').map((n) => n.id));
    expect(boxes).toEqual(['node-exporter', 'kube-state-metrics', 'prometheus', 'alertmanager', 'grafana', 'filebeat', 'logstash', 'elasticsearch', 'kibana', 'jaeger', 'ingest', 'postgres']);
    expect(html).toContain('data-component="receiver:pager"');
    expect(html.match(/<g class="flow"/g)?.length).toBeGreaterThan(15);
  });

  it('catches a console message and a network request when a page makes them (the checks above can fail)', () => {
    const control = join(OUTPUT, 'control.html');
    writeFileSync(control, '<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png"><script>console.error("control")</script></body></html>');
    const r = browse(control, ['--dump-dom']);
    expect(r.pageRequests).toEqual(['http://127.0.0.1:9/x.png']);
    expect(r.console.join('\n')).toContain('"control"');
  }, 120_000);

  afterAll(() => rmSync(join(OUTPUT, 'control.html'), { force: true }));
});
