/**
 * Wall time of `obstack check rules` and `obstack check dashboards` as whole
 * processes with every check on (a catalog, configured rule settings, the
 * dashboards' policy), against the targets of the issue that asked for them:
 * 1,000 rules and 300 dashboards in at most a second each on a quiet 2-core
 * machine. The first 1,000 rules of the corpus (its files in order, the last
 * one cut) and 300 copies of its dashboards are timed against those targets;
 * the whole corpus (1,188 rules, 328 dashboards) is timed beside them. Also
 * the rule checks' own time in process, and promtool's on the same files.
 * `benchChecks(runs)` prints the median and spread of `runs` runs of each.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { lintRuleFiles, parseRuleFileText, buildCatalog, KUBE_PROMETHEUS_SOURCES, PROMETHEUS_SYNTHETIC, loadCheckConfig, promtoolCheckRules } from '../src/validate/index.js';
import { corpusDir, corpusRuleFiles } from '../test/support/corpus.js';

const root = join(import.meta.dirname, '..');
const BIN = join(root, 'bin', 'obstack.js');

/** Settings that turn on every configurable rule check (selectors, aggregations, names, `for`, labels, annotations). */
const RULE_SETTINGS = `rules:
  scrapeInterval: 30s
  annotations:
    - { name: summary, required: true }
  labels:
    - { name: severity, required: true, kind: alerting, value: "critical|warning|info|none" }
  names:
    - { pattern: "[A-Za-z0-9_:()<>%/ -]+", kind: alerting }
    - { pattern: "[a-zA-Z_:][a-zA-Z0-9_:]*", kind: recording }
  for: { max: 1w }
  keepFiringFor: { max: 1h }
  selectors:
    - { metric: "up", requiredLabels: [job] }
  aggregate:
    - { name: ".+:.+", kind: recording, keep: [job] }
`;

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(3)} s`;

function timeRun(args: readonly string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  // Findings exit 1; anything else (a usage error, a crash) is a failed benchmark.
  if (r.status !== 0 && r.status !== 1) throw new Error(`obstack ${args.slice(0, 3).join(' ')} … failed (${r.status}):\n${r.stderr}`);
  if (r.status === 1 && r.stdout.trim() === '') throw new Error(`obstack ${args.slice(0, 3).join(' ')} … printed nothing:\n${r.stderr}`);
  return ms;
}

function report(label: string, times: readonly number[], target?: number): void {
  const sorted = [...times].sort((a, b) => a - b);
  const m = median(sorted);
  console.log(
    `${label.padEnd(52)} median ${seconds(m)}   min ${seconds(sorted[0] ?? NaN)}   max ${seconds(sorted.at(-1) ?? NaN)}${target === undefined ? '' : `   target ≤ ${seconds(target)} ${m <= target ? 'met' : 'MISSED'}`}`,
  );
}

/**
 * The corpus's rule files in order until `count` rules, the last one cut to
 * its first rules (written to `dir`); undefined when the corpus has fewer.
 */
function firstRules(ruleFiles: readonly string[], count: number, dir: string): string[] | undefined {
  const out: string[] = [];
  let left = count;
  for (const f of ruleFiles) {
    if (left === 0) return out;
    const doc = parse(readFileSync(f, 'utf8')) as { groups?: { rules?: unknown[] }[] } | null;
    const n = (doc?.groups ?? []).reduce((m, g) => m + (g.rules?.length ?? 0), 0);
    if (n <= left) {
      out.push(f);
      left -= n;
      continue;
    }
    const groups: { rules?: unknown[] }[] = [];
    for (const g of doc?.groups ?? []) {
      if (left === 0) break;
      const rules = (g.rules ?? []).slice(0, left);
      left -= rules.length;
      groups.push({ ...g, rules });
    }
    const cut = join(dir, `first-rules-of-${basename(f)}`);
    writeFileSync(cut, stringify({ groups }));
    out.push(cut);
  }
  return left === 0 ? out : undefined;
}

/** Prints the wall time of both check commands over the corpus, `runs` runs each after a warm-up run. */
export async function benchChecks(runs: number): Promise<void> {
  const ruleFiles = corpusRuleFiles();
  const kubeDashboards = corpusDir('dashboards');
  if (!ruleFiles || !kubeDashboards) {
    console.log('check benchmark skipped: the corpus is not next to the project (../shared/corpus or OBSTACK_CORPUS_DIR)');
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'obstack-bench-checks-'));
  try {
    const config = join(work, 'checks.yaml');
    writeFileSync(config, RULE_SETTINGS);

    // The dashboards of both corpora, copied until there are at least 300.
    const sources = [
      ...readdirSync(kubeDashboards).filter((f) => f.endsWith('.json')).map((f) => join(kubeDashboards, f)),
      ...(() => {
        const other = join(kubeDashboards, '..', '..', 'grafana-dashboards-kubernetes');
        try {
          return (readdirSync(other, { recursive: true }) as string[]).filter((f) => f.endsWith('.json')).map((f) => join(other, f));
        } catch {
          return [];
        }
      })(),
    ];
    const dashDir = join(work, 'dashboards');
    mkdirSync(dashDir);
    const dashboards: string[] = [];
    for (let copy = 0; dashboards.length < 300; copy++) {
      for (const s of sources) {
        const out = join(dashDir, `${copy}-${basename(s)}`);
        copyFileSync(s, out);
        dashboards.push(out);
      }
    }
    const thousand = firstRules(ruleFiles, 1000, work);

    const rulesArgs = (files: readonly string[]) => ['check', 'rules', '--catalog', 'kube-prometheus', '--config', config, '--format', 'json', ...files];
    const dashArgs = (files: readonly string[]) => ['check', 'dashboards', '--catalog', 'kube-prometheus', '--policy', '--config', config, '--format', 'json', ...files];
    const cases = [
      ...(thousand ? [{ label: 'check rules: 1,000 rules (the target)', args: rulesArgs(thousand), target: 1000 }] : []),
      { label: 'check dashboards: 300 dashboards (the target)', args: dashArgs(dashboards.slice(0, 300)), target: 1000 },
      { label: `check rules: all ${ruleFiles.length} files`, args: rulesArgs(ruleFiles) },
      { label: `check dashboards: all ${dashboards.length} dashboards`, args: dashArgs(dashboards) },
    ];
    const times = cases.map((): number[] => []);
    // Alternated run by run so that all see the same machine; the first run may rebuild the bundle and its code cache.
    for (let i = 0; i <= runs; i++) {
      for (const [k, c] of cases.entries()) {
        const ms = timeRun(c.args);
        if (i > 0) times[k]!.push(ms);
      }
    }
    const rules = ruleFiles.reduce((n, f) => n + (parseRuleFileText(f, readFileSync(f, 'utf8')).file?.groups.reduce((m, g) => m + g.rules.length, 0) ?? 0), 0);
    console.log(`obstack check, whole processes, every check on, ${runs} runs each (the corpus: ${rules} rules)`);
    for (const [k, c] of cases.entries()) report(c.label, times[k]!, c.target);

    // In process: the rule checks alone (parse and lint, warm), and promtool beside them.
    const settings = loadCheckConfig(config).rules;
    const catalog = buildCatalog([PROMETHEUS_SYNTHETIC, ...KUBE_PROMETHEUS_SOURCES]);
    const texts = ruleFiles.map((f) => [f, readFileSync(f, 'utf8')] as const);
    const inProcess: number[] = [];
    for (let i = 0; i <= runs; i++) {
      const t0 = performance.now();
      const files = texts.map(([name, text]) => ({ name, content: parseRuleFileText(`${name}#${i}`, `${text}\n# run ${i}\n`).file! }));
      lintRuleFiles(files, { profile: 'external', catalog, settings });
      if (i > 0) inProcess.push(performance.now() - t0);
    }
    const promtool: number[] = [];
    for (let i = 0; i < Math.min(runs, 3); i++) {
      const t0 = performance.now();
      promtoolCheckRules(ruleFiles);
      promtool.push(performance.now() - t0);
    }
    console.log(`${'check rules in process (YAML, parse, every check)'.padEnd(52)} median ${seconds(median(inProcess))}   min ${seconds(Math.min(...inProcess))}   max ${seconds(Math.max(...inProcess))}`);
    console.log(`${'promtool check rules on the same files'.padEnd(52)} median ${seconds(median(promtool))}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  await benchChecks(Number(process.env.BENCH_RUNS ?? 5));
}
