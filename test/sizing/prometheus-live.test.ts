import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONSTANTS, prometheusHeadBytes } from '../../src/sizing/model.js';
import { freePort, type StartedServer, startPrometheus, waitFor } from '../support/processes.js';

/**
 * The sizing model's figures per series and per sample against a real
 * Prometheus (Debian's 2.42): the heap a measured number of series takes, and
 * the bytes a sample takes in a block that promtool writes.
 */

const dir = mkdtempSync(join(tmpdir(), 'obstack-sizing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Series with the shape of an HTTP counter: 8 label pairs with __name__, job and instance; `pod` makes each unique. */
function exposition(series: number): (tick: number) => string {
  const names = Array.from({ length: series }, (_, i) => `sizing_requests_total{service="svc-${i % 50}",route="/api/v1/items/${i % 200}",method="GET",status="200",pod="pod-${i}"} `);
  return (tick) => `# TYPE sizing_requests_total counter\n${names.map((n, i) => `${n}${tick * ((i % 7) + 1)}`).join('\n')}\n`;
}

/** A metric of Prometheus itself, read from its own /metrics. */
async function query(base: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the sizing model against a real Prometheus', () => {
  it('head memory per series: the heap a measured number of series takes is within 30% of the model', { timeout: 180_000 }, async () => {
    const SERIES = 50_000;
    const INTERVAL = 3;
    const targetPort = await freePort();
    const body = exposition(SERIES);
    let tick = 0;
    const target: Server = createServer((_req, res) => {
      tick += 1;
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(body(tick));
    });
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      `global: { scrape_interval: ${INTERVAL}s, scrape_timeout: ${INTERVAL}s }\nscrape_configs:\n  - job_name: sizing\n    static_configs: [{ targets: ['127.0.0.1:${targetPort}'] }]\n`,
    );
    let prom: StartedServer | undefined;
    try {
      prom = await startPrometheus(config, join(dir, 'data'));
      const base = prom.base;
      await waitFor(async () => ((await fetch(`${base}/-/ready`)).ok ? true : undefined), 30_000, 'Prometheus', prom.server);
      // The heap before the series exist: Prometheus with nothing to scrape (the target is not listening yet).
      await sleep(6_000);
      const before: number[] = [];
      for (let i = 0; i < 4; i++) {
        before.push((await query(base, 'go_memstats_heap_inuse_bytes')) ?? NaN);
        await sleep(500);
      }
      await new Promise<void>((resolve) => target.listen(targetPort, '127.0.0.1', resolve));
      await waitFor(async () => (((await query(base, 'prometheus_tsdb_head_series')) ?? 0) >= SERIES ? true : undefined), 60_000, 'the series in the head', prom.server);
      // Ten scrapes: the head holds the series and their first chunks, the scrape cache is full.
      await sleep(10 * INTERVAL * 1000);
      const after: number[] = [];
      for (let i = 0; i < 8; i++) {
        after.push((await query(base, 'go_memstats_heap_inuse_bytes')) ?? NaN);
        await sleep(1000);
      }
      const samples = (await query(base, 'prometheus_tsdb_head_samples_appended_total')) ?? 0;
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const measured = mean(after) - mean(before);
      const model = prometheusHeadBytes(SERIES, 8, samples);
      // Printed so that a change of the model or of Prometheus shows its figures.
      console.log(`sizing: ${SERIES} series, heap +${(measured / 2 ** 20).toFixed(0)} MiB measured, ${(model / 2 ** 20).toFixed(0)} MiB modelled (${(measured / SERIES).toFixed(0)} B/series)`);
      expect(measured / model).toBeGreaterThan(0.7);
      expect(measured / model).toBeLessThan(1.3);
    } finally {
      await prom?.server.stop();
      target.close();
    }
  });

  it('bytes per sample in a block: within the model (at most its 2 bytes, at least half a byte)', { timeout: 120_000 }, () => {
    // Six hours of 2,000 series scraped every 30 s, counters and gauges as applications expose them:
    // each counter grows at its own rate with a fifth of noise, each gauge wanders by small steps.
    const SERIES = 2000;
    const STEP = 30;
    const STEPS = (6 * 3600) / STEP;
    const start = 1_700_000_000;
    const lines: string[] = ['# TYPE sizing_requests counter', '# TYPE sizing_in_flight gauge'];
    // A fixed generator, so that the figure does not change from run to run.
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const counters: number[] = Array.from({ length: SERIES / 2 }, () => 0);
    const rates = counters.map(() => 10 + Math.floor(random() * 500));
    const gauges = counters.map(() => Math.floor(random() * 20));
    const counterLines: string[] = [];
    const gaugeLines: string[] = [];
    for (let step = 0; step < STEPS; step++) {
      const ts = start + step * STEP;
      for (let i = 0; i < SERIES / 2; i++) {
        counters[i]! += Math.round(rates[i]! * (0.9 + random() * 0.2));
        gauges[i] = Math.max(0, gauges[i]! + Math.round(random() * 2 - 1));
        counterLines.push(`sizing_requests_total{pod="pod-${i}",route="/r/${i % 20}"} ${counters[i]} ${ts}`);
        gaugeLines.push(`sizing_in_flight{pod="pod-${i}",route="/r/${i % 20}"} ${gauges[i]} ${ts}`);
      }
    }
    // OpenMetrics wants each family's samples together.
    const text = `${lines[0]}\n${counterLines.join('\n')}\n${lines[1]}\n${gaugeLines.join('\n')}\n# EOF\n`;
    const input = join(dir, 'samples.om');
    writeFileSync(input, text);
    const blocks = join(dir, 'blocks');
    execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', input, blocks], { stdio: 'pipe' });
    let bytes = 0;
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (d.endsWith('chunks')) bytes += statSync(join(d, e.name)).size;
      }
    };
    walk(blocks);
    const perSample = bytes / (SERIES * STEPS);
    console.log(`sizing: ${(SERIES * STEPS).toLocaleString('en')} samples in ${(bytes / 2 ** 20).toFixed(1)} MiB of chunks, ${perSample.toFixed(2)} B/sample`);
    expect(perSample).toBeLessThanOrEqual(CONSTANTS.bytesPerSample);
    expect(perSample).toBeGreaterThan(0.5);
  });
});
