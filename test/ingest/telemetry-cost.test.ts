import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, isoNow, logDestination, truncateIp } from '../../src/ingest/telemetry/logger.js';
import { createTracing } from '../../src/ingest/telemetry/tracing.js';

/** What the telemetry of every request costs less of, and still does. */

const dir = mkdtempSync(join(tmpdir(), 'obstack-telemetry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const opts = { level: 'info', serviceName: 'obstack-ingest', serviceVersion: 'test' };

describe('the log destination', () => {
  it('writes lines 8 KiB at a time, whole and in order, and the rest at its flush', async () => {
    const file = join(dir, 'chunks.log');
    const log = createLogger(opts, logDestination(file, 300));
    const pad = 'x'.repeat(200);
    let sample = '';
    createLogger(opts, { write: (line: string) => void (sample = line) }).info({ i: 10, pad }, 'line');
    // As many lines as stay below 8 KiB are kept.
    const below = Math.floor(8_191 / sample.length);
    for (let i = 0; i < below; i++) log.info({ i, pad }, 'line');
    expect(readFileSync(file, 'utf8')).toBe('');
    // The line that fills 8 KiB is written with all before it, at once.
    const total = below + 5;
    for (let i = below; i < total; i++) log.info({ i, pad }, 'line');
    const written = readFileSync(file, 'utf8');
    expect(written.length).toBeGreaterThanOrEqual(8_192);
    expect(written.endsWith('\n')).toBe(true);
    const first = written.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { i: number }).i);
    expect(first).toEqual(Array.from({ length: below + 1 }, (_, i) => i));
    // The flush interval writes what is left.
    await new Promise((r) => setTimeout(r, 600));
    const all = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { i: number }).i);
    expect(all).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('cuts every address to its network, the same on the thousandth line as on the first', () => {
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 1_500; i++) expect(truncateIp(`198.51.${i % 256}.${i % 200}`)).toBe(`198.51.${i % 256}.0`);
      expect(truncateIp('2001:db8:85a3:1234:5678::7')).toBe('2001:db8:85a3::');
      expect(truncateIp('::ffff:198.51.100.9')).toBe('198.51.100.0');
      expect(truncateIp('not an address')).toBe('[redacted]');
    }
  });
});

describe('the time of lines and events', () => {
  it('is always the current millisecond, in ISO 8601', () => {
    const seen = new Set<string>();
    const until = Date.now() + 30;
    while (Date.now() < until) {
      const before = Date.now();
      const text = isoNow();
      const after = Date.now();
      expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Date.parse(text)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(text)).toBeLessThanOrEqual(after);
      seen.add(text);
    }
    expect(seen.size).toBeGreaterThan(10);
  });
});

describe('server spans', () => {
  it('are made for sampled requests when something receives them, and not at all otherwise', async () => {
    const exporter = new InMemorySpanExporter();
    const exporting = createTracing({ serviceName: 's', serviceVersion: '1', sampleRatio: 1, processors: [new SimpleSpanProcessor(exporter)] });
    const span = exporting.startServerSpan('POST /api/v1/events', { 'http.route': '/api/v1/events' }, undefined);
    expect(span).toBeDefined();
    span!.end();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['POST /api/v1/events']);
    await exporting.shutdown();

    const silent = createTracing({ serviceName: 's', serviceVersion: '1', sampleRatio: 1 });
    const parent = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', sampled: true };
    expect(silent.startServerSpan('POST /api/v1/events', {}, undefined)).toBeUndefined();
    expect(silent.startServerSpan('POST /api/v1/events', {}, parent)).toBeUndefined();
    await silent.shutdown();
  });
});
