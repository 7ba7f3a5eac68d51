import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/ingest/config.js';
import { fingerprint, topFrames } from '../../src/ingest/fingerprint.js';
import { API_KEYS } from './helpers/app.js';

describe('configuration from the environment', () => {
  it('reads keys from a mounted Secret file and applies the defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ingest-keys-'));
    writeFileSync(join(dir, 'keys.json'), JSON.stringify(API_KEYS));
    const c = loadConfig({ INGEST_API_KEYS_FILE: join(dir, 'keys.json'), INGEST_RETENTION_DAYS: '30' });
    expect(c).toMatchObject({ port: 8080, retentionDays: 30, traceSampleRatio: 0.1, dataDir: '.data/ingest' });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.apiKeys.map((k) => k.name)).toEqual(['app', 'dashboards', 'ops']);
  });

  it('names every wrong variable and never echoes a key', () => {
    const secret = 'short-secret';
    let error: unknown;
    try {
      loadConfig({
        INGEST_API_KEYS: JSON.stringify([{ name: 'a', key: secret, scopes: ['root'] }]),
        PORT: '99999',
        DATABASE_URL: 'mysql://x',
        OTEL_TRACES_SAMPLER_ARG: '2',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const details = (error as ConfigError).details.join('\n');
    for (const name of ['PORT', 'DATABASE_URL', 'OTEL_TRACES_SAMPLER_ARG', 'INGEST_API_KEYS.0.key', 'INGEST_API_KEYS.0.scopes']) expect(details).toContain(name);
    expect(details).not.toContain(secret);
  });

  it('requires API keys', () => {
    expect(() => loadConfig({})).toThrow(/INGEST_API_KEYS_FILE or INGEST_API_KEYS: required/);
  });
});

describe('error fingerprints', () => {
  it('keep the function and file of the top frames, not line numbers or absolute paths', () => {
    const a = 'Error: boom\n    at handler (/srv/app/src/routes/chat.js:42:13)\n    at next (/srv/app/node_modules/express/lib/router.js:10:2)';
    const b = 'Error: boom\n    at handler (/home/ci/build/src/routes/chat.js:45:1)\n    at next (/home/ci/build/node_modules/express/lib/router.js:11:5)';
    expect(topFrames(a)).toEqual(['handler (routes/chat.js)', 'next (node_modules/express/lib/router.js)']);
    expect(fingerprint('Error', 'boom', a)).toBe(fingerprint('Error', 'boom', b));
    expect(fingerprint('TypeError', 'boom', a)).not.toBe(fingerprint('Error', 'boom', a));
    expect(fingerprint('Error', 'user 123 not found')).toBe(fingerprint('Error', 'user 456 not found'));
  });
});
