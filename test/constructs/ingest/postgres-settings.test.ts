import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresSettings } from '../../../src/constructs/ingest/postgres.js';
import { postgresUnavailable, TestPostgres } from '../../ingest/helpers/postgres.js';
import { example, find, synth, type Json } from '../helpers.js';

const MiB = (setting: string) => Number(/^(\d+)MB$/.exec(setting)?.[1]);

/** The ingest database container of an example environment. */
function container(name: 'dev' | 'prod'): Json {
  const set = find(synth(example(name)).objects, 'StatefulSet', 'ingest-postgres') as Json;
  return set.spec.template.spec.containers.find((c: Json) => c.name === 'postgres');
}

describe("the ingest database's memory settings", () => {
  it('follow the memory limit of each environment, passed on the command line the image runs', () => {
    // prod gives the database 2Gi, dev the default 512Mi.
    expect(container('prod').resources.limits.memory).toBe('2Gi');
    expect(container('prod').args).toEqual(['postgres', '-c', 'shared_buffers=512MB', '-c', 'effective_cache_size=1536MB', '-c', 'maintenance_work_mem=128MB']);
    expect(container('dev').resources.limits.memory).toBe('512Mi');
    expect(container('dev').args).toEqual(['postgres', '-c', 'shared_buffers=128MB', '-c', 'effective_cache_size=384MB', '-c', 'maintenance_work_mem=32MB']);
  });

  it('keep shared_buffers at a quarter of the limit and maintenance_work_mem within its bounds, in any unit', () => {
    for (const limit of ['256Mi', '1Gi', '1536Mi', '3G', '8Gi', '64Gi']) {
      const s = postgresSettings(limit);
      const mib = limit.endsWith('G') ? (Number(limit.slice(0, -1)) * 1e9) / 2 ** 20 : limit.endsWith('Gi') ? Number(limit.slice(0, -2)) * 1024 : Number(limit.slice(0, -2));
      expect(Math.abs(MiB(s.shared_buffers!) - mib / 4), limit).toBeLessThan(1);
      expect(MiB(s.shared_buffers!) + MiB(s.effective_cache_size!), limit).toBeLessThanOrEqual(mib);
      expect(MiB(s.maintenance_work_mem!), limit).toBeGreaterThanOrEqual(16);
      expect(MiB(s.maintenance_work_mem!), limit).toBeLessThanOrEqual(1024);
    }
  });

  const unavailable = postgresUnavailable();
  describe.skipIf(unavailable !== undefined)('on a real PostgreSQL', () => {
    let server: TestPostgres | undefined;
    afterAll(async () => server?.destroy());

    it('starts with the settings of the prod environment and applies each of them', async () => {
      const settings = postgresSettings(container('prod').resources.limits.memory);
      server = await TestPostgres.create(settings);
      const client = new pg.Client(server.url);
      await client.connect();
      try {
        for (const [name, value] of Object.entries(settings)) {
          const { rows } = await client.query<{ v: string }>(`SELECT current_setting($1) AS v`, [name]);
          expect(rows[0]!.v, name).toBe(value);
        }
      } finally {
        await client.end();
      }
    }, 60_000);
  });
});
