/**
 * Wall time of synthesizing environments as whole processes, the way CI and
 * users run it: `obstack synth --env dev` and `obstack synth --all`, both as a
 * full synth (`--force`) and when nothing changed since the last one (the
 * command then checks what the output is made from and says "up to date"),
 * and after a change to one environment field with and without the check
 * cache of earlier runs (warm and cold). Prints the median and the spread of
 * several runs, each against `helm template` of kube-prometheus-stack, and
 * the in-process time.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { parse, parseDocument, stringify } from 'yaml';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadEnvironmentFile } from '../src/config/index.js';
import { synthesizeEnvironment } from '../src/cli/synthesize.js';
import { checkSynthesized } from '../src/cli/check.js';
import { stackRuleFiles } from '../rules/index.js';
import { stackDashboards } from '../dashboards/index.js';
import { layerBinary } from '../test/cli/kubectl.js';
import { benchChecks } from './bench-checks.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const root = join(import.meta.dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'obstack-bench-'));

function timeCommand(cmd: string, args: readonly string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  return ms;
}

function time(args: string[]): number[] {
  const times: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const ms = timeCommand(process.execPath, [join(root, 'bin', 'obstack.js'), ...args, '--out', out]);
    if (i > 0) times.push(ms); // the first run may rebuild the bundle and its code cache
  }
  return times.sort((a, b) => a - b);
}

/**
 * The peer chart as helm can render it offline: when subcharts are missing
 * from its charts/ folder, a copy whose Chart.yaml leaves them out.
 */
function renderableChart(peer: string): { chart: string; missing: string[]; set: string[] } {
  const present = new Set(existsSync(join(peer, 'charts')) ? readdirSync(join(peer, 'charts')) : []);
  const meta = parse(readFileSync(join(peer, 'Chart.yaml'), 'utf8')) as { dependencies?: { name: string; repository?: string; condition?: string }[] };
  const gone = (meta.dependencies ?? []).filter((d) => d.repository !== undefined && !present.has(d.name));
  const missing = gone.map((d) => d.name);
  if (missing.length === 0) return { chart: peer, missing, set: [] };
  const chart = join(out, 'kube-prometheus-stack');
  cpSync(peer, chart, { recursive: true });
  meta.dependencies = (meta.dependencies ?? []).filter((d) => !missing.includes(d.name));
  writeFileSync(join(chart, 'Chart.yaml'), stringify(meta));
  // The parent's templates read a subchart's values only when its condition is on.
  return { chart, missing, set: gone.flatMap((d) => (d.condition ? ['--set', `${d.condition}=false`] : [])) };
}

const median = (times: readonly number[]): number => times[Math.floor(times.length / 2)] ?? NaN;

/**
 * obstack synth of one environment and helm template of kube-prometheus-stack
 * (the peer in ../shared/peers, subcharts included), alternated run by run so
 * that both see the same machine; the median of each and their ratio.
 */
/**
 * How a side-by-side synth runs: `force` a full synth of the unchanged file; `up to date` nothing changed;
 * `changed` after one field of the environment changed (Prometheus's retention time, alternating between
 * two values), with the check cache of earlier runs (`warm`) or without any (`cold`: removed before
 * each run, as on a fresh clone; the code cache of the bundle is kept, it is made once per build).
 */
type SynthMode = 'force' | 'up to date' | 'changed, warm' | 'changed, cold';

const CHECK_CACHE = join(root, 'node_modules', '.cache', 'obstack', 'checks.json');

/** The arguments of one synth of `env` in `mode`; for a changed environment, writes the changed copy first. */
function synthArgs(env: string, mode: SynthMode, run: number): string[] {
  if (mode === 'force' || mode === 'up to date') return ['synth', '--env', env, '--out', out, ...(mode === 'force' ? ['--force'] : [])];
  const doc = parseDocument(readFileSync(join(root, 'examples', 'environments', `${env}.yaml`), 'utf8'));
  doc.setIn(['components', 'prometheus', 'retention', 'time'], `${10 + (run % 2)}d`);
  const file = join(out, 'changed', `${env}.yaml`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, String(doc));
  if (mode === 'changed, cold') rmSync(CHECK_CACHE, { force: true });
  return ['synth', '-f', file, '--out', out];
}

function sideBySide(env: string, chart: string, helmArgs: readonly string[], mode: SynthMode): void {
  const helm = layerBinary('helm');
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const a = timeCommand(process.execPath, [join(root, 'bin', 'obstack.js'), ...synthArgs(env, mode, i)]);
    const b = timeCommand(helm, ['template', 'kps', chart, '--namespace', 'monitoring', ...helmArgs]);
    if (i === 0) continue;
    ours.push(a);
    theirs.push(b);
  }
  ours.sort((x, y) => x - y);
  theirs.sort((x, y) => x - y);
  const ratio = median(ours) / median(theirs);
  console.log(
    `${`synth --env ${env} (${mode}) vs helm template`.padEnd(50)} ${(median(ours) / 1000).toFixed(3)} s vs ${(median(theirs) / 1000).toFixed(3)} s   ratio ${ratio.toFixed(2)}   (ours ${(ours[0]! / 1000).toFixed(3)}–${(ours.at(-1)! / 1000).toFixed(3)} s)`,
  );
}

function report(label: string, times: number[]): void {
  const median = times[Math.floor(times.length / 2)] ?? NaN;
  console.log(
    `${label.padEnd(50)} median ${(median / 1000).toFixed(3)} s   min ${((times[0] ?? NaN) / 1000).toFixed(3)} s   max ${((times.at(-1) ?? NaN) / 1000).toFixed(3)} s`,
  );
}

try {
  console.log(`obstack synth, whole processes, ${RUNS} runs each`);
  report('obstack synth --env dev --force', time(['synth', '--env', 'dev', '--force']));
  report('obstack synth --all --force (dev, staging, prod)', time(['synth', '--all', '--force']));
  report('obstack synth --all, nothing changed', time(['synth', '--all']));
  // What no Node program can go below on this machine: the runtime starting and exiting.
  report('node -e 0 (the runtime alone)', Array.from({ length: RUNS }, () => timeCommand(process.execPath, ['-e', '0'])).sort((a, b) => a - b));
  report('obstack --version (loading the command)', Array.from({ length: RUNS }, () => timeCommand(process.execPath, [join(root, 'bin', 'obstack.js'), '--version'])).sort((a, b) => a - b));

  const peer = join(root, '..', 'shared', 'peers', 'kube-prometheus-stack');
  if (existsSync(peer)) {
    const { chart, missing, set } = renderableChart(peer);
    if (missing.length > 0) console.log(`helm template runs without the subcharts missing from ../shared/peers (${missing.join(', ')}): helm does less work than with them, so the ratio is pessimistic`);
    for (const mode of ['force', 'changed, cold', 'changed, warm', 'up to date'] as const) for (const env of ['dev', 'prod']) sideBySide(env, chart, set, mode);
  } else {
    console.log('helm template comparison skipped: the kube-prometheus-stack chart is not in ../shared/peers');
  }

  // After a source change the command rebuilds its bundle once.
  const now = new Date();
  utimesSync(join(root, 'src', 'cli', 'main.ts'), now, now);
  const t = process.hrtime.bigint();
  spawnSync(process.execPath, [join(root, 'bin', 'obstack.js'), 'synth', '--env', 'dev', '--out', out, '--force'], { cwd: root });
  console.log(`${'first run after a source change (rebuild)'.padEnd(50)} ${(Number(process.hrtime.bigint() - t) / 1e9).toFixed(3)} s`);

  const t0 = performance.now();
  let objects = 0;
  for (const name of ['dev', 'staging', 'prod']) {
    const env = loadEnvironmentFile(join(root, 'examples', 'environments', `${name}.yaml`));
    const result = synthesizeEnvironment(env, { ruleFiles: stackRuleFiles(env), dashboards: stackDashboards(env) });
    checkSynthesized(result, { tools: false });
    objects += result.objects.length;
  }
  console.log(`in process, warm: 3 environments, ${objects} objects, synthesized and checked in ${(performance.now() - t0).toFixed(0)} ms`);

  // check rules and check dashboards over a large set of a team's files, every check on.
  await benchChecks(RUNS);
} finally {
  rmSync(out, { recursive: true, force: true });
}
