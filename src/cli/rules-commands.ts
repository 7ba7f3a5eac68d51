import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { ImportError, importRuleFile } from '../authoring/index.js';
import {
  formatRuleFinding,
  KUBE_PROMETHEUS_SOURCES,
  lintRuleFiles,
  type MetricSource,
  parseRuleFileText,
  PROMETHEUS_SYNTHETIC,
  promtoolCheckRules,
  type RuleFinding,
  ToolNotFoundError,
} from '../validate/index.js';
import { catalogFromOptions, readMetricNames } from './catalog-options.js';

export const RULES_USAGE = `  check rules FILE...   lint Prometheus rule files and run promtool check rules on them
           --no-catalog            do not check metric names against a catalog
           --catalog NAME          stack (default) or kube-prometheus; repeatable
           --known-metrics FILE    more known metric names, one a line (# comments)
           --profile NAME          external (default: severity, runbook_url and a text required)
                                   or stack (P1-P4, service, summary, description, runbook_url)
  import-rules FILE.yaml  print (or --out FILE.ts) the file as TypeScript written with the DSL
           --import-from SPEC      module to import the DSL from (default ../src/authoring/index.js)
           --function NAME         name of the exported function (default importedRules)
`;

const CATALOGS: Readonly<Record<string, () => readonly MetricSource[]>> = {
  'kube-prometheus': () => [PROMETHEUS_SYNTHETIC, ...KUBE_PROMETHEUS_SOURCES],
};

/** `obstack check rules FILE...`: every finding on one line with file, group, rule and reason; 1 when there is any. */
export function checkRules(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    options: {
      'no-catalog': { type: 'boolean' },
      catalog: { type: 'string', multiple: true },
      'known-metrics': { type: 'string', multiple: true },
      profile: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`usage: obstack check rules FILE... [options]\n\n${RULES_USAGE.slice(0, RULES_USAGE.indexOf('  import-rules'))}`);
    return 0;
  }
  if (positionals.length === 0) {
    process.stderr.write(`obstack check rules needs at least one rule file\n\n${RULES_USAGE}`);
    return 1;
  }
  const profile = values.profile ?? 'external';
  if (profile !== 'external' && profile !== 'stack') {
    process.stderr.write(`--profile must be "external" or "stack", got "${profile}"\n`);
    return 1;
  }
  const chosen = catalogFromOptions(values.catalog ?? ['stack'], CATALOGS);
  if ('error' in chosen) {
    process.stderr.write(`${chosen.error}\n`);
    return 1;
  }
  const catalog = chosen.catalog;
  let known: string[] = [];
  try {
    known = (values['known-metrics'] ?? []).flatMap(readMetricNames);
  } catch (e) {
    process.stderr.write(`--known-metrics: ${(e as Error).message}\n`);
    return 1;
  }

  const findings: RuleFinding[] = [];
  const files: { name: string; content: NonNullable<ReturnType<typeof parseRuleFileText>['file']> }[] = [];
  for (const path of positionals) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      findings.push({ file: path, group: '', rule: '', check: 'read', message: `cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
      continue;
    }
    const parsed = parseRuleFileText(path, text);
    findings.push(...parsed.findings);
    if (parsed.file) files.push({ name: path, content: parsed.file });
  }
  findings.push(...lintRuleFiles(files, { profile, catalog: values['no-catalog'] ? false : catalog, knownMetrics: known }));
  if (files.length > 0) {
    try {
      const tool = promtoolCheckRules(files.map((f) => f.name));
      if (!tool.ok) {
        for (const line of tool.output.split('\n').filter((l) => /error|FAILED/i.test(l))) {
          findings.push({ file: files.length === 1 ? files[0]!.name : '(promtool)', group: '', rule: '', check: 'promtool', message: line.trim() });
        }
      }
    } catch (e) {
      if (!(e instanceof ToolNotFoundError)) throw e;
      process.stderr.write(`warning: ${e.message}; only the in-process checks ran\n`);
    }
  }
  for (const f of findings) process.stdout.write(`${formatRuleFinding(f)}\n`);
  const rules = files.reduce((n, f) => n + f.content.groups.reduce((m, g) => m + (g.rules?.length ?? 0), 0), 0);
  process.stdout.write(`${positionals.length} file(s), ${rules} rule(s): ${findings.length === 0 ? 'no findings' : `${findings.length} finding(s)`}\n`);
  return findings.length === 0 ? 0 : 1;
}

/** `obstack import-rules FILE.yaml`: the file as TypeScript using the DSL. */
export function importRules(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    options: { out: { type: 'string' }, 'import-from': { type: 'string' }, function: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`usage: obstack import-rules FILE.yaml [options]\n\n${RULES_USAGE.slice(RULES_USAGE.indexOf('  import-rules'))}`);
    return 0;
  }
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) {
    process.stderr.write(`obstack import-rules takes exactly one rule file\n\n${RULES_USAGE}`);
    return 1;
  }
  let ts: string;
  try {
    ts = importRuleFile(readFileSync(file, 'utf8'), {
      source: basename(file),
      ...(values['import-from'] ? { importFrom: values['import-from'] } : {}),
      ...(values.function ? { functionName: values.function } : {}),
    });
  } catch (e) {
    if (e instanceof ImportError || (e as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stderr.write(`${file}: ${(e as Error).message}\n`);
      return 1;
    }
    throw e;
  }
  if (values.out) {
    writeFileSync(values.out, ts);
    process.stdout.write(`wrote ${values.out}\n`);
  } else {
    process.stdout.write(ts);
  }
  return 0;
}
