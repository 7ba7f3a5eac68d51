/**
 * Wall time of synthesizing environments as whole processes, the way CI and
 * users run it: `obstack synth --env dev` and `obstack synth --all`.
 * Prints the median and the spread of several runs, and the in-process time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnvironmentFile } from '../src/config/index.js';
import { synthesizeEnvironment } from '../src/cli/synthesize.js';
import { checkSynthesized } from '../src/cli/check.js';
import { stackRuleFiles } from '../rules/index.js';
import { stackDashboards } from '../dashboards/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const root = join(import.meta.dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'obstack-bench-'));

function time(args: string[]): number[] {
  const times: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [join(root, 'bin', 'obstack.js'), ...args, '--out', out], { cwd: root, encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`obstack ${args.join(' ')} failed:\n${r.stderr}`);
    if (i > 0) times.push(ms); // the first run may rebuild the bundle and its code cache
  }
  return times.sort((a, b) => a - b);
}

function report(label: string, times: number[]): void {
  const median = times[Math.floor(times.length / 2)] ?? NaN;
  console.log(
    `${label.padEnd(44)} median ${(median / 1000).toFixed(3)} s   min ${((times[0] ?? NaN) / 1000).toFixed(3)} s   max ${((times.at(-1) ?? NaN) / 1000).toFixed(3)} s`,
  );
}

try {
  console.log(`obstack synth, whole processes, ${RUNS} runs each (helm template of kube-prometheus-stack: about 0.5 s)`);
  report('obstack synth --env dev', time(['synth', '--env', 'dev']));
  report('obstack synth --all (dev, staging, prod)', time(['synth', '--all']));

  // After a source change the command rebuilds its bundle once.
  const now = new Date();
  utimesSync(join(root, 'src', 'cli', 'main.ts'), now, now);
  const t = process.hrtime.bigint();
  spawnSync(process.execPath, [join(root, 'bin', 'obstack.js'), 'synth', '--env', 'dev', '--out', out], { cwd: root });
  console.log(`${'first run after a source change (rebuild)'.padEnd(44)} ${(Number(process.hrtime.bigint() - t) / 1e9).toFixed(3)} s`);

  const t0 = performance.now();
  let objects = 0;
  for (const name of ['dev', 'staging', 'prod']) {
    const env = loadEnvironmentFile(join(root, 'examples', 'environments', `${name}.yaml`));
    const result = synthesizeEnvironment(env, { ruleFiles: stackRuleFiles(env), dashboards: stackDashboards(env) });
    checkSynthesized(result, { tools: false });
    objects += result.objects.length;
  }
  console.log(`in process, warm: 3 environments, ${objects} objects, synthesized and checked in ${(performance.now() - t0).toFixed(0)} ms`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
