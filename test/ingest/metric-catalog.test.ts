import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/ingest/app.js';
import type { IngestApp } from '../../src/ingest/context.js';
import { openPglite } from '../../src/ingest/db.js';
import { INGEST_SOURCE } from '../../src/validate/metric-catalog.js';
import { auth, testConfig } from './helpers/app.js';

/** `name → type` of every `# TYPE` line of a Prometheus exposition. */
function exposedTypes(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1]!, m[2]!);
  return types;
}

describe("the metric catalog's ingest entries", () => {
  let app: IngestApp;
  let exposed: Map<string, string>;

  beforeAll(async () => {
    app = await buildApp({ config: testConfig({ logLevel: 'silent' }), db: await openPglite('memory://') });
    // A KPI, so that the business series exist.
    const kpi = await app.inject({ method: 'POST', url: '/api/v1/monitoring/business-metrics', headers: auth('ingest'), payload: { metric_name: 'conversion_rate', value: 0.1, target: 0.2 } });
    expect(kpi.statusCode).toBe(200);
    // KPIs are on the key-protected /metrics/business, the rest on /metrics.
    exposed = exposedTypes((await app.inject({ url: '/metrics' })).body + (await app.inject({ url: '/metrics/business', headers: auth('admin') })).body);
  });
  afterAll(async () => app?.close());

  it('names only metrics the service exposes, with the type it exposes them with', () => {
    const wrong = Object.entries(INGEST_SOURCE.metrics)
      .filter(([name, type]) => exposed.get(name) !== type)
      .map(([name, type]) => `${name}: catalog ${type}, service ${exposed.get(name) ?? 'not exposed'}`);
    expect(wrong).toEqual([]);
  });

  it("lists every metric of the service's own (http_*, ingest_*, business_*)", () => {
    const own = [...exposed.keys()].filter((name) => /^(http|ingest|business)_/.test(name));
    expect(own.length).toBeGreaterThan(10);
    expect(own.filter((name) => !(name in INGEST_SOURCE.metrics))).toEqual([]);
  });
});
