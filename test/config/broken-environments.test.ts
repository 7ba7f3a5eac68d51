import { cpSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadEnvironmentFile } from '../../src/config/index.js';
import { run } from '../../src/cli/main.js';
import { snapshotTree } from '../support/tree.js';

const BROKEN = join(import.meta.dirname, 'broken');

/** Each broken file, the path the error must name, the line of the field (or its nearest parent in the file), and what it must say. */
const CASES: ReadonlyArray<{ file: string; path: string; line: number; says: RegExp }> = [
  { file: 'wrong-type.yaml', path: 'components.prometheus.replicas', line: 4, says: /expected number/ },
  { file: 'unknown-component.yaml', path: 'components.loki', line: 3, says: /unknown field "loki"/ },
  { file: 'negative-replicas.yaml', path: 'components.alertmanager.replicas', line: 4, says: /at least 1 \(found -1\)/ },
  { file: 'inline-credential.yaml', path: 'alerting.receivers.slack.apiUrl', line: 8, says: /reference to a Kubernetes Secret.*never written inline$/ },
  { file: 'malformed.yaml', path: '(file)', line: 5, says: /malformed YAML: wrong indentation/ },
  { file: 'bad-duration.yaml', path: 'components.prometheus.retention.time', line: 5, says: /Prometheus duration/ },
  { file: 'no-paging-receiver.yaml', path: 'alerting.receivers.pagerduty', line: 3, says: /P1 and P2 alerts page/ },
  { file: 'prod-single-replica.yaml', path: 'components.prometheus.replicas', line: 4, says: /at least 2 in a production environment, got 1/ },
  { file: 'bad-memory.yaml', path: 'components.grafana.resources.requests.memory', line: 5, says: /memory quantity/ },
  { file: 'latest-image.yaml', path: 'components.prometheus.image.tag', line: 4, says: /pinned version, not "latest"/ },
  { file: 'bad-namespace.yaml', path: 'namespace', line: 2, says: /DNS label/ },
  { file: 'webhook-with-password.yaml', path: 'alerting.receivers.webhook.url', line: 10, says: /without user or password; put a token in bearerToken$/ },
  { file: 'ingress-without-host.yaml', path: 'components.grafana.ingress.host', line: 4, says: /required when the ingress is enabled/ },
  { file: 'grafana-ha-sqlite.yaml', path: 'components.grafana.database', line: 3, says: /must be postgres when grafana.replicas > 1/ },
  { file: 'not-a-mapping.yaml', path: '(file)', line: 1, says: /must be a YAML mapping/ },
  { file: 'name-mismatch.yaml', path: 'name', line: 1, says: /must match the file name "name-mismatch"/ },
  { file: 'persistent-without-size.yaml', path: 'components.prometheus.storage.size', line: 4, says: /expected string/ },
];

describe('broken environment files', () => {
  it('covers every file in the folder', () => {
    expect(readdirSync(BROKEN).sort()).toEqual(CASES.map((c) => c.file).sort());
  });

  for (const c of CASES) {
    it(`refuses ${c.file} naming ${c.path}`, () => {
      let error: unknown;
      try {
        loadEnvironmentFile(join(BROKEN, c.file));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const configError = error as ConfigError;
      expect(configError.code).toBe('E_CONFIG');
      const file = join(BROKEN, c.file);
      expect(configError.message.split('\n')[0]).toMatch(/^.+ is not a valid environment \(\d+ problems?\):$/);
      const line = configError.message.split('\n').find((l) => l.trim().startsWith(`${file}:${c.line}: ${c.path}: `));
      expect(line, configError.message).toBeDefined();
      expect(line).toMatch(c.says);
      expect(configError.issues.find((i) => i.path === (c.path === '(file)' ? '' : c.path))?.line).toBe(c.line);
    });
  }
});

describe('a refused synth', () => {
  it('exits 1, prints every problem, and leaves an existing dist/ exactly as it was', async () => {
    const work = mkdtempSync(join(tmpdir(), 'obstack-refused-'));
    const out = join(work, 'dist');
    const good = join(import.meta.dirname, '..', '..', 'examples', 'environments');
    expect(await run(['synth', '--environments', good, '--out', out])).toBe(0);
    const before = snapshotTree(out);
    expect(Object.keys(before).length).toBeGreaterThan(20);

    // A good environment next to broken ones: nothing at all may be written.
    const mixed = join(work, 'envs');
    cpSync(good, mixed, { recursive: true });
    for (const c of CASES.slice(0, 4)) cpSync(join(BROKEN, c.file), join(mixed, c.file));
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      errors.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    let code: number;
    try {
      code = await run(['synth', '--environments', mixed, '--out', out]);
    } finally {
      process.stderr.write = write;
    }
    expect(code).toBe(1);
    const printed = errors.join('');
    for (const c of CASES.slice(0, 4)) expect(printed).toContain(`${c.path}:`);
    expect(printed).not.toMatch(/\n\s+at /); // no stack trace
    expect(printed).not.toContain('hooks.slack.com'); // inline-credential.yaml's webhook URL
    expect(snapshotTree(out)).toEqual(before);
  });
});
