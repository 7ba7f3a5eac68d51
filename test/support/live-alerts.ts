import { spawn } from 'node:child_process';
import type { KubernetesObject } from '../../src/cli/synthesize.js';
import { type Started, waitFor } from './processes.js';

// biome-ignore lint: plain JSON from Prometheus's API
type Json = any;

/** One alert as Prometheus's /api/v1/alerts reports it. */
export interface LiveAlert {
  readonly labels: Record<string, string>;
  readonly state: 'pending' | 'firing';
}

/** The alerts Prometheus holds now, pending or firing. */
export async function liveAlerts(base: string): Promise<LiveAlert[]> {
  const body = (await (await fetch(`${base}/api/v1/alerts`)).json()) as Json;
  return body.data.alerts as LiveAlert[];
}

const matches = (a: LiveAlert, name: string, labels: Record<string, string>): boolean =>
  a.labels.alertname === name && Object.entries(labels).every(([k, v]) => a.labels[k] === v);

/** Waits until an alert with these labels fires; fails with what did fire otherwise. */
export async function waitForFiring(base: string, name: string, labels: Record<string, string> = {}, timeoutMs = 30_000): Promise<LiveAlert> {
  let last: LiveAlert[] = [];
  try {
    return await waitFor(
      async () => {
        last = await liveAlerts(base);
        return last.find((a) => a.state === 'firing' && matches(a, name, labels));
      },
      timeoutMs,
      `${name} ${JSON.stringify(labels)} to fire`,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}\nalerts then: ${JSON.stringify(last.map((a) => [a.labels.alertname, a.state, a.labels.instance ?? a.labels.job]))}`);
  }
}

/** Waits until no alert of that name (and labels) is pending or firing. */
export async function waitForSilence(base: string, name: string, labels: Record<string, string> = {}, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => ((await liveAlerts(base)).some((a) => matches(a, name, labels)) ? undefined : true), timeoutMs, `${name} ${JSON.stringify(labels)} to clear`);
}

/** The value of an instant query's first sample, or undefined when it has none. */
export async function queryValue(base: string, expr: string): Promise<number | undefined> {
  const body = (await (await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as Json;
  const first = body.data?.result?.[0];
  return first ? Number(first.value[1]) : undefined;
}

/** Waits for every rule group to have been evaluated at least `times` more times from now. */
export async function waitForEvaluations(base: string, times = 3): Promise<void> {
  const stamp = async (): Promise<number> => {
    const body = (await (await fetch(`${base}/api/v1/rules`)).json()) as Json;
    return Math.min(...body.data.groups.map((g: Json) => Date.parse(g.lastEvaluation)));
  };
  const start = Date.now();
  const intervalMs = 1000;
  await waitFor(async () => ((await stamp()) > start + (times - 1) * intervalMs ? true : undefined), 30_000, 'rule evaluations');
}

/** The `# TYPE` of every metric family in an exposition text. */
export function metricTypes(exposition: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1] ?? '', m[2] ?? '');
  return out;
}

/** The first container of a Deployment of the synthesized manifests. */
export function deploymentContainer(objects: readonly KubernetesObject[], name: string): Json {
  const d = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name) as Json;
  if (!d) throw new Error(`no Deployment ${name}`);
  return d.spec.template.spec.containers[0];
}

/**
 * A container's environment as a process gets it: plain values as written,
 * Secret keys from `secrets` (`<secretName>/<key>` → value). A key the test
 * did not provide is an error, so the manifests cannot read a Secret unnoticed.
 */
export function containerEnv(container: Json, secrets: Readonly<Record<string, string>>, overrides: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) {
      const ref = `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`;
      const value = secrets[ref];
      if (value === undefined) throw new Error(`${e.name} reads Secret key ${ref}, which the test does not provide`);
      env[e.name] = value;
    } else throw new Error(`${e.name}: unexpected env source ${JSON.stringify(e.valueFrom)}`);
  }
  return { ...env, ...overrides };
}

/** A container's arguments with `--web.listen-address` moved to a local address. */
export function containerArgs(container: Json, listen: string): string[] {
  return (container.args ?? []).map((a: string) => (a.startsWith('--web.listen-address=') ? `--web.listen-address=${listen}` : a));
}

/** Starts a program with exactly this environment (plus PATH), stopped by its PID. */
export function startWithEnv(command: string, args: readonly string[], env: Readonly<Record<string, string>>): Started {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-8000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-8000)));
  return {
    process: child,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
        child.once('exit', () => resolve());
        process.kill(child.pid, 'SIGTERM');
      }),
  };
}
