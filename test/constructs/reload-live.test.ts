import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Environment } from '../../src/config/index.js';
import { stackRuleFiles } from '../../rules/index.js';
import { synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { writeOfflinePrometheus } from '../support/offline-prometheus.js';
import { type Started, startAlertmanager, startPrometheus, waitFor } from '../support/processes.js';
import { type Json, example, find } from './helpers.js';

/**
 * What the config-reloader sidecar does in the pod, done against the real
 * programs: the files change under a running process (as the kubelet swaps a
 * ConfigMap or Secret volume), then a POST to `/-/reload`; the process loads
 * the new content and keeps running.
 */

/** Replaces a file in one step, as the kubelet's atomic swap of a volume does. */
function replaceFile(path: string, content: string): void {
  writeFileSync(`${path}.new`, content);
  renameSync(`${path}.new`, path);
}

/** The value of an unlabelled series on a program's own /metrics page. */
async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`${base}/metrics has no ${name}`);
  return Number(line.split(' ')[1]);
}

/** What the sidecar sends: a POST without a body, success being 200. */
async function reload(base: string): Promise<number> {
  return (await fetch(`${base}/-/reload`, { method: 'POST' })).status;
}

/** The synthesized container's arguments, so the flag under test is the generated one. */
function containerArgs(objects: readonly Json[], name: string): string[] {
  return (find(objects, 'StatefulSet', name) as Json).spec.template.spec.containers.find((c: Json) => c.name === name).args;
}

const withOverride = (env: Environment, threshold: number): Environment => ({
  ...env,
  alerting: { ...env.alerting, overrides: { ...env.alerting.overrides, HighErrorRate: { threshold } } },
});

describe('a rule change reaches a running Prometheus through /-/reload', () => {
  let root: string;
  let rulesDir: string;
  let prometheus: Started;
  let base: string;
  let pid: number | undefined;
  let startTime: string;

  const highErrorRate = async (): Promise<string | undefined> => {
    const body = (await (await fetch(`${base}/api/v1/rules`)).json()) as Json;
    return body.data.groups.flatMap((g: Json) => g.rules).find((r: Json) => r.name === 'HighErrorRate')?.query;
  };
  const runtimeStart = async (): Promise<string> => ((await (await fetch(`${base}/api/v1/status/runtimeinfo`)).json()) as Json).data.startTime;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'obstack-reload-prom-'));
    const env = example('dev');
    const result = synthesizeEnvironment(env, { ruleFiles: stackRuleFiles(env) });
    const offline = writeOfflinePrometheus(result.files, root);
    expect(offline.findings).toEqual([]);
    rulesDir = offline.rulesDir;

    const lifecycle = containerArgs(result.objects, 'prometheus').filter((a) => a === '--web.enable-lifecycle');
    expect(lifecycle).toEqual(['--web.enable-lifecycle']);
    ({ server: prometheus, base } = await startPrometheus(offline.configFile, join(root, 'data'), lifecycle));
    pid = prometheus.process.pid;
    await waitFor(async () => ((await highErrorRate()) ? true : undefined), 30_000, 'Prometheus rules', prometheus);
    startTime = await runtimeStart();
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('loads a changed threshold without a restart', async () => {
    expect(await highErrorRate()).toMatch(/> 0\.05$/);
    const before = await metric(base, 'prometheus_config_last_reload_success_timestamp_seconds');
    const changed = stackRuleFiles(withOverride(example('dev'), 0.1));
    replaceFile(join(rulesDir, 'application.yaml'), changed['application.yaml'] ?? '');
    // The success timestamp has a resolution of one second.
    await new Promise((r) => setTimeout(r, 1100));

    expect(await reload(base)).toBe(200);
    expect(await highErrorRate()).toMatch(/> 0\.1$/);
    expect(await metric(base, 'prometheus_config_last_reload_successful')).toBe(1);
    expect(await metric(base, 'prometheus_config_last_reload_success_timestamp_seconds')).toBeGreaterThan(before);
    expect(prometheus.process.pid).toBe(pid);
    expect(prometheus.process.exitCode).toBeNull();
    expect(await runtimeStart()).toBe(startTime);
  });

  it('keeps the rules it has when a changed file is broken, and says so in prometheus_config_last_reload_successful', async () => {
    replaceFile(join(rulesDir, 'application.yaml'), 'groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: rate(\n');
    expect(await reload(base)).toBe(500);
    expect(await highErrorRate()).toMatch(/> 0\.1$/);
    expect(await metric(base, 'prometheus_config_last_reload_successful')).toBe(0);

    replaceFile(join(rulesDir, 'application.yaml'), stackRuleFiles(example('dev'))['application.yaml'] ?? '');
    expect(await reload(base)).toBe(200);
    expect(await metric(base, 'prometheus_config_last_reload_successful')).toBe(1);
    expect(await highErrorRate()).toMatch(/> 0\.05$/);
    expect(prometheus.process.pid).toBe(pid);
    expect(await runtimeStart()).toBe(startTime);
  });
});

describe('a routing change reaches a running Alertmanager through /-/reload', () => {
  let root: string;
  let config: string;
  let alertmanager: Started;
  let base: string;
  let pid: number | undefined;

  const status = async (): Promise<Json> => (await (await fetch(`${base}/api/v2/status`)).json()) as Json;
  const groupBy = async (): Promise<string[]> => (parse((await status()).config.original) as Json).route.group_by;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'obstack-reload-am-'));
    config = join(root, 'alertmanager.yml');
    writeFileSync(config, synthesizeEnvironment(example('dev')).files.get('alertmanager.yml') ?? '');
    ({ server: alertmanager, base } = await startAlertmanager(config, join(root, 'data')));
    pid = alertmanager.process.pid;
  }, 40_000);

  afterAll(async () => {
    await alertmanager?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('loads a changed group_by without a restart', async () => {
    const env = example('dev');
    expect(await groupBy()).toEqual(env.alerting.groupBy);
    const uptime = (await status()).uptime;
    const changed = synthesizeEnvironment({ ...env, alerting: { ...env.alerting, groupBy: ['alertname', 'namespace', 'team'] } });
    replaceFile(config, changed.files.get('alertmanager.yml') ?? '');

    expect(await reload(base)).toBe(200);
    expect(await groupBy()).toEqual(['alertname', 'namespace', 'team']);
    expect(await metric(base, 'alertmanager_config_last_reload_successful')).toBe(1);
    expect(alertmanager.process.pid).toBe(pid);
    expect(alertmanager.process.exitCode).toBeNull();
    expect((await status()).uptime).toBe(uptime);
  });
});
