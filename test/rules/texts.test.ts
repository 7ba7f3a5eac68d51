import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { stackRuleFiles, stackRuleGroups } from '../../rules/index.js';
import {
  alert,
  applyOverrides,
  compileRuleFile,
  compileRuleTests,
  type Duration,
  humanBytes,
  humanDuration,
  isAlert,
  type RuleFile,
  type RuleGroup,
} from '../../src/authoring/index.js';
import type { AlertOverrides } from '../../src/config/rule-overrides.js';
import { parseEnvironment } from '../../src/config/index.js';
import { runRuleTests } from '../../src/validate/rules-tests.js';
import { example } from '../constructs/helpers.js';

/** Every threshold becomes 1.5 times itself, every `for` 17 minutes: values no shipped text states by chance. */
const FACTOR = 1.5;
const NEW_FOR: Duration = '17m';
const TEXTS = ['summary', 'description'] as const;
const WORDS: Readonly<Record<string, number>> = { half: 0.5, twice: 2, double: 2 };

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

/** The ways a text may state a threshold: as a number (also ×100 for a percentage, ×1000 in milliseconds), a factor in words, or a duration in words. */
function thresholdMentions(text: string, t: number): string[] {
  const plain = text.replace(/\{\{.*?\}\}/g, ' '); // Prometheus templates format the live value, not the threshold
  const found: string[] = [];
  for (const m of plain.matchAll(/(?<![\w.,])\d+(?:,\d{3})*(?:\.\d+)?(?!\w)/g)) {
    const n = Number(m[0].replaceAll(',', ''));
    if ([t, 100 * t, 1000 * t].some((v) => close(n, v))) found.push(m[0]);
  }
  for (const [word, value] of Object.entries(WORDS)) if (close(value, t) && new RegExp(`\\b${word}\\b`).test(plain)) found.push(word);
  if (t > 0) for (const phrase of [humanDuration(t), humanDuration(60 * t), humanDuration(3600 * t), humanBytes(t)]) if (plain.includes(phrase)) found.push(phrase);
  return found;
}

function forMentions(text: string, f: Duration): string[] {
  return [`for ${humanDuration(f)}`, `for ${f}`].filter((phrase) => text.includes(phrase));
}

type FileRule = RuleFile['groups'][number]['rules'][number];

/**
 * Overrides every alert's threshold and `for`, compiles before and after, and
 * lists every text that stated the old value and does not state the new one
 * (or still states the old): a text with a hard-coded number.
 */
function textsThatIgnoreOverrides(files: Readonly<Record<string, readonly RuleGroup[]>>) {
  const rules = Object.values(files).flat().flatMap((g) => g.rules.filter(isAlert));
  const count = new Map<string, number>();
  for (const r of rules) count.set(r.name, (count.get(r.name) ?? 0) + 1);
  const overrides: AlertOverrides = {};
  for (const r of rules) {
    // A threshold can only be overridden on an alert defined by one rule (not the four burn rates of an SLO).
    const threshold = r.threshold !== undefined && count.get(r.name) === 1 ? { threshold: r.threshold * FACTOR } : {};
    overrides[r.name] = { for: NEW_FOR, ...threshold };
  }
  const overridden = applyOverrides(files, overrides, '<test>');
  const problems: string[] = [];
  const checked = { threshold: new Set<string>(), for: new Set<string>() };
  for (const [file, groups] of Object.entries(files)) {
    const before = parse(compileRuleFile(groups)) as RuleFile;
    const after = parse(compileRuleFile(overridden[file] ?? [])) as RuleFile;
    before.groups.forEach((g, gi) =>
      g.rules.forEach((old: FileRule, ri) => {
        const source = groups[gi]?.rules[ri];
        const now = after.groups[gi]?.rules[ri];
        if (old.alert === undefined || source === undefined || !isAlert(source) || now === undefined) return;
        const o = overrides[old.alert];
        for (const field of TEXTS) {
          const was = old.annotations?.[field] ?? '';
          const is = now.annotations?.[field] ?? '';
          const where = `${file}: ${old.alert}.annotations.${field}`;
          if (source.threshold !== undefined && o?.threshold !== undefined) {
            const stated = thresholdMentions(was, source.threshold);
            if (stated.length > 0) {
              checked.threshold.add(old.alert);
              const still = thresholdMentions(is, source.threshold);
              if (still.length > 0) problems.push(`${where} still states the threshold ${source.threshold} (${still.join(', ')}) after it was overridden to ${o.threshold}: "${is}"`);
              if (thresholdMentions(is, o.threshold).length === 0) problems.push(`${where} does not state the overridden threshold ${o.threshold}: "${is}"`);
            }
          }
          if (source.for !== undefined && forMentions(was, source.for).length > 0) {
            checked.for.add(old.alert);
            if (forMentions(is, source.for).length > 0 || forMentions(is, NEW_FOR).length === 0) {
              problems.push(`${where} states "for ${humanDuration(source.for)}", and after \`for\` was overridden to ${NEW_FOR} it reads: "${is}"`);
            }
          }
        }
      }),
    );
  }
  return { problems, checked };
}

const env = example('dev');

describe('alert texts follow overrides', () => {
  it('every shipped summary and description that states a threshold or a `for` states the overridden value instead', () => {
    const { problems, checked } = textsThatIgnoreOverrides(stackRuleGroups(env));
    expect(problems).toEqual([]);
    // The check found the texts it is about (a percentage, a duration threshold, a factor and a share in words, jobDown's `for`).
    expect([...checked.threshold]).toEqual(expect.arrayContaining(['HighErrorRate', 'HighLatencyP95', 'NodeFilesystemFillingUp', 'LatencyDoubled', 'CacheHitRateCollapse', 'ElasticsearchHeapHigh']));
    expect([...checked.for]).toEqual(expect.arrayContaining(['HighErrorRate', 'KubePodCrashLooping', 'GrafanaDown', 'IngestDatabaseDown']));
    expect(checked.threshold.size).toBeGreaterThanOrEqual(15);
  });

  it('the check catches an alert whose text hard-codes its threshold or its `for`', () => {
    const hardCoded = alert({
      alert: 'Probe',
      threshold: 0.05,
      expr: (t) => `rate(errors_total[5m]) / rate(requests_total[5m]) > ${t}`,
      for: '10m',
      severity: 'P3',
      service: 'probe',
      summary: 'Probe fails more than half of the time',
      description: 'More than 5% of the requests have failed for 10 minutes.',
      runbook: 'https://runbooks.example/#probe',
    });
    const { problems } = textsThatIgnoreOverrides({ 'probe.yaml': [{ name: 'probe', rules: [hardCoded] }] });
    expect(problems).toEqual([
      expect.stringMatching(/Probe\.annotations\.description still states the threshold 0\.05 \(5\)/),
      expect.stringMatching(/Probe\.annotations\.description does not state the overridden threshold 0\.075/),
      expect.stringMatching(/Probe\.annotations\.description states "for 10 minutes"/),
    ]);
  });

  it("an environment's override reaches the compiled rule file's texts", () => {
    const e = parseEnvironment(
      {
        name: 'dev',
        alerting: {
          receivers: { pagerduty: { routingKey: { secretName: 'pd', key: 'k' } }, slack: { channel: '#a', apiUrl: { secretName: 's', key: 'k' } } },
          overrides: { HighErrorRate: { threshold: 0.02, for: '5m' }, NodeFilesystemFillingUp: { threshold: 1.5 }, GrafanaDown: { for: '1h' } },
        },
      },
      '<test>',
    );
    const rule = (file: string, name: string) => (parse(stackRuleFiles(e)[file] ?? '') as RuleFile).groups.flatMap((g) => g.rules).find((r) => r.alert === name);
    expect(rule('application.yaml', 'HighErrorRate')?.annotations?.description).toBe(
      'More than 2% of the HTTP requests to {{ $labels.namespace }}/{{ $labels.service }} have failed with a 5xx for 5 minutes.',
    );
    expect(rule('application.yaml', 'HighErrorRate')?.annotations?.summary).toBe('{{ $labels.service }} fails {{ $value | humanizePercentage }} of its requests');
    expect(rule('node.yaml', 'NodeFilesystemFillingUp')?.annotations?.description).toMatch(/fills up within 1 hour and 30 minutes\.$/);
    expect(rule('grafana.yaml', 'GrafanaDown')?.annotations?.description).toContain('(job grafana) for 1 hour:');
  });

  it('promtool renders the overridden text, its templates intact', () => {
    const files = applyOverrides(stackRuleGroups(env), { HighErrorRate: { threshold: 0.02, for: '5m' } }, '<test>');
    const high = Object.values(files).flat().flatMap((g) => g.rules.filter(isAlert)).find((r) => r.name === 'HighErrorRate');
    expect(high).toBeDefined();
    const S = 'job="kubernetes-pods",namespace="chat",service="chat-api",pod="chat-api-0"';
    const checked = {
      ...high!,
      tests: [
        {
          name: 'fires with the texts of the override',
          series: { [`http_requests_total{${S},status="5xx"}`]: '0+1x30', [`http_requests_total{${S},status="2xx"}`]: '0+19x30' },
          at: '15m' as Duration,
          fires: [{ namespace: 'chat', service: 'chat-api' }],
          annotations: [
            {
              summary: 'chat-api fails 5% of its requests',
              description: 'More than 2% of the HTTP requests to chat/chat-api have failed with a 5xx for 5 minutes.',
              runbook_url: high!.annotations.runbook_url ?? '',
            },
          ],
        },
      ],
    };
    const result = runRuleTests(compileRuleTests({ 'application.yaml': [{ name: 'probe', rules: [checked] }] }));
    expect(result.output).not.toContain('FAILED');
    expect(result.ok).toBe(true);
  });
});
