import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/ingest/config.js';
import { parseKeyFile } from '../../src/ingest/keys.js';
import { makeApp, type TestApp } from './helpers/app.js';

const OPS = { name: 'ops', key: 'ops-key-0123456789abcdef012345', scopes: ['admin'] };
const SHOP = { name: 'shop', key: 'shop-key-0123456789abcdef01234', scopes: ['ingest'] };
const NEW = { name: 'newcomer', key: 'newcomer-key-0123456789abcdef0', scopes: ['ingest'] };
const SOON = { name: 'soon-gone', key: 'soon-gone-key-0123456789abcdef', scopes: ['ingest'] };

/**
 * A folder laid out as the kubelet lays out a Secret volume: `keys.json` is a
 * symlink to `..data/keys.json`, and an update swaps the `..data` symlink.
 */
class SecretVolume {
  readonly dir = mkdtempSync(join(tmpdir(), 'ingest-keys-'));
  readonly file = join(this.dir, 'keys.json');
  private version = 0;

  write(text: string): void {
    const ts = join(this.dir, `..${++this.version}`);
    mkdirSync(ts);
    writeFileSync(join(ts, 'keys.json'), text);
    symlinkSync(`..${this.version}`, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    if (this.version === 1) symlinkSync('..data/keys.json', this.file);
  }
}

const event = { type: 'page_view', user_id: 'u1' };

async function until(what: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('the key file', () => {
  const volume = new SecretVolume();
  let t: TestApp;
  const post = (key: string) => t.app.inject({ method: 'POST', url: '/api/v1/events', headers: { 'x-api-key': key }, payload: event });
  const audit = async () =>
    (await t.db.query<{ action: string; resource_id: string; outcome: string }>("SELECT action, resource_id, outcome FROM audit_log WHERE action LIKE 'api_key.%' ORDER BY id")).rows;

  beforeAll(async () => {
    volume.write(JSON.stringify([OPS, SHOP]));
    const config = loadConfig({ INGEST_API_KEYS_FILE: volume.file });
    t = await makeApp({ apiKeys: config.apiKeys, apiKeysFile: config.apiKeysFile, sourceRateLimitPerSecond: 0 });
  });
  afterAll(async () => {
    await t.app.close();
    await t.db.close();
    rmSync(volume.dir, { recursive: true, force: true });
  });

  it('takes a key added to the file without a restart, and audits it by name', async () => {
    expect((await post(NEW.key)).statusCode).toBe(401);
    volume.write(JSON.stringify([OPS, SHOP, NEW]));
    await until(async () => (await post(NEW.key)).statusCode === 200);
    expect((await post(SHOP.key)).statusCode).toBe(200);
    await until(async () => (await audit()).some((r) => r.action === 'api_key.added'));
    expect(await audit()).toEqual([{ action: 'api_key.added', resource_id: 'newcomer', outcome: 'success' }]);
  });

  it('keeps the keys in use when the new file is invalid, and logs, counts and audits the failure', async () => {
    volume.write(JSON.stringify([OPS, { ...SHOP, key: 'short' }]));
    await until(async () => /ingest_api_key_reloads_total\{outcome="failure"\} [1-9]/.test((await t.app.inject({ url: '/metrics' })).body));
    expect((await post(SHOP.key)).statusCode).toBe(200);
    expect((await post(NEW.key)).statusCode).toBe(200);
    const line = t.logs.find((l) => l['message'] === 'API key file is invalid; the keys in use are kept');
    expect(line?.['problems']).toEqual(['[1].key: key must be at least 24 characters']);
    await until(async () => (await t.count("audit_log WHERE action = 'api_keys.reload' AND outcome = 'failure'")) === 1);
  });

  it('refuses a revoked or removed key with 401, and audits both', async () => {
    volume.write(JSON.stringify([OPS, { ...SHOP, revoked: true }]));
    await until(async () => (await post(SHOP.key)).statusCode === 401);
    expect((await post(NEW.key)).statusCode).toBe(401);
    expect((await post(OPS.key)).statusCode).toBe(200);
    await until(async () => (await audit()).length === 3);
    expect((await audit()).slice(1)).toEqual([
      { action: 'api_key.removed', resource_id: 'newcomer', outcome: 'success' },
      { action: 'api_key.revoked', resource_id: 'shop', outcome: 'success' },
    ]);
  });

  it('refuses a key once it expires, and audits the expiry when it happens', async () => {
    const expiresAt = new Date(Date.now() + 1_500).toISOString();
    volume.write(JSON.stringify([OPS, { ...SOON, expiresAt }]));
    await until(async () => (await post(SOON.key)).statusCode === 200);
    await until(async () => (await post(SOON.key)).statusCode === 401, 4_000);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(expiresAt));
    await until(async () => (await audit()).some((r) => r.action === 'api_key.expired'));
    expect((await audit()).filter((r) => r.resource_id === 'soon-gone').map((r) => r.action)).toEqual(['api_key.added', 'api_key.expired']);
  });

  it('audits a key moved to another project as changed, in its new project, and then writes into that project only', async () => {
    const moved = { ...OPS, project: 'shop' };
    volume.write(JSON.stringify([moved]));
    const post = () => t.app.inject({ method: 'POST', url: '/api/v1/events', headers: { 'x-api-key': OPS.key }, payload: { type: 'moved_test' } });
    await until(async () => (await post()).statusCode === 200 && (await t.count("events WHERE type = 'moved_test' AND project = 'shop'")) > 0);
    // Once the file is read, every write of the key is the new project's.
    const before = await t.count("events WHERE type = 'moved_test' AND project = 'default'");
    expect((await post()).statusCode).toBe(200);
    expect(await t.count("events WHERE type = 'moved_test' AND project = 'default'")).toBe(before);
    const { rows } = await t.db.query<{ action: string; project: string; metadata: Record<string, unknown> }>(
      "SELECT action, project, metadata FROM audit_log WHERE action LIKE 'api_key.%' AND resource_id = 'ops' ORDER BY id",
    );
    expect(rows).toEqual([{ action: 'api_key.changed', project: 'shop', metadata: { file: volume.file, previous_project: 'default' } }]);
    // A new sentryProjectId is a change too, audited in the key's project.
    volume.write(JSON.stringify([{ ...moved, sentryProjectId: '12' }]));
    await until(async () => (await t.count("audit_log WHERE action = 'api_key.changed' AND resource_id = 'ops'")) === 2);
    const last = await t.db.query<{ project: string; metadata: Record<string, unknown> }>("SELECT project, metadata FROM audit_log WHERE action = 'api_key.changed' ORDER BY id DESC LIMIT 1");
    expect(last.rows).toEqual([{ project: 'shop', metadata: { file: volume.file } }]);
  });

  it('never writes a secret into the audit log or the log', async () => {
    const { rows } = await t.db.query<Record<string, unknown>>('SELECT * FROM audit_log');
    const all = JSON.stringify(rows) + t.rawLogs.join('');
    for (const k of [OPS, SHOP, NEW, SOON]) expect(all).not.toContain(k.key);
  });
});

describe('key file checks', () => {
  it('name each wrong entry and field, never a value', () => {
    const result = parseKeyFile(JSON.stringify([{ ...SHOP, expiresAt: 'tomorrow' }, { ...OPS, name: 'shop', revoked: 'yes' }]));
    expect(result).toEqual({
      problems: [
        '[0].expiresAt: expiresAt must be an ISO 8601 time with a zone, e.g. 2026-07-01T00:00:00Z',
        '[1].revoked: Invalid input: expected boolean, received string',
      ],
    });
    expect(parseKeyFile(JSON.stringify([SHOP, { ...OPS, name: 'shop' }]))).toEqual({ problems: ['[1].name: duplicate key name shop'] });
    expect(parseKeyFile('[{')).toEqual({ problems: ['not valid JSON'] });
  });

  it('name a wrong project or Sentry project id, and a Sentry project id given to two projects', () => {
    expect(parseKeyFile(JSON.stringify([{ ...SHOP, project: 'Shop Team' }, { ...OPS, sentryProjectId: 12 }, { ...NEW, sentryProjectId: '12a' }]))).toEqual({
      problems: [
        '[0].project: project must be 1-63 characters of [a-z0-9_-], starting with a letter or a digit, e.g. shop',
        '[1].sentryProjectId: Invalid input: expected string, received number',
        '[2].sentryProjectId: sentryProjectId must be 1-20 digits (the project id of the Sentry DSN, e.g. "1"), as a string',
      ],
    });
    expect(parseKeyFile(JSON.stringify([{ ...SHOP, project: 'shop', sentryProjectId: '3' }, { ...NEW, project: 'blog', sentryProjectId: '3' }]))).toEqual({
      problems: ['[1].sentryProjectId: sentryProjectId 3 already belongs to project shop, got project blog'],
    });
    // Keys of one project may share its id; a key without a project is in project default.
    const parsed = parseKeyFile(JSON.stringify([{ ...SHOP, project: 'shop', sentryProjectId: '3' }, { ...NEW, project: 'shop', sentryProjectId: '3' }, OPS]));
    expect('keys' in parsed && parsed.keys.map((k) => [k.name, k.project, k.sentryProjectId])).toEqual([
      ['shop', 'shop', '3'],
      ['newcomer', 'shop', '3'],
      ['ops', 'default', undefined],
    ]);
  });

  it('INGEST_API_KEYS still works, with nothing to watch', () => {
    const config = loadConfig({ INGEST_API_KEYS: JSON.stringify([SHOP]) });
    expect(config.apiKeys.map((k) => k.name)).toEqual(['shop']);
    expect(config.apiKeysFile).toBeUndefined();
  });
});
