import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { yamlText } from '../../src/config/yaml-text.js';
import { synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { stackRuleFiles } from '../../rules/index.js';
import { stackDashboards } from '../../dashboards/index.js';
import { example } from '../constructs/helpers.js';

const general = (v: unknown): string => stringify(v, { lineWidth: 0 });

// Strings at the edges of YAML's plain-scalar rules, each as a map value, a key and a list item.
const STRINGS = [
  '', ' x', 'x ', 'a: b', 'a:b', 'x:', '#x', 'a #b', 'a#b', '- x', '-', '-x', '?', '? x', ':x', ',x', 'a,b',
  '[x]', '{x}', '*x', '&x', '!x', '|x', '>x', "'x", '"x', '%x', '@x', '`x', '---', '--- x', '...', 'x...',
  '1', '-1', '+1', '0x1F', '0o17', '0b1', '1.0', '.5', '1.', '1e3', '1E-3', '.inf', '-.Inf', '.nan', '1_000',
  'true', 'True', 'TRUE', 'tRue', 'false', 'yes', 'no', 'on', 'off', 'y', 'n', 'null', 'Null', 'NULL', '~', 'nil',
  "it's", 'say "hi"', `both ' and "`, 'a\\b', 'tab\there', 'é ü ✓', 'emoji 🚀',
  'l1\nl2', 'l1\nl2\n', 'l1\nl2\n\n', ' lead\nx\n', '  two\nx', 'a\n\n\nb\n', '\nstarts', 'trail \nx', 'x\n ',
  'x\t\ny', 'rate(x[5m]) > 0.5\n', 'a: b\nc: d\n', '# comment\nx\n', '- item\n', '---\ndoc\n', 'x\n...\n',
  'bell\u0007', 'nul\u0000', 'del\u007f', 'nel\u0085', 'ls\u2028', 'lone\ud800', '{{ $labels.job }}', '$(VAR)', 'k=v',
];

describe('yamlText', () => {
  it('writes what the yaml package writes, for strings at the edges of the plain-scalar rules', () => {
    for (const s of STRINGS) {
      for (const value of [{ key: s }, { [s]: 'value' }, [s], { list: [s, { nested: s }] }, [[s]]]) {
        expect(yamlText(value), JSON.stringify(value)).toBe(general(value));
        expect(parse(yamlText(value))).toEqual(value);
      }
    }
  });

  it('writes numbers, booleans, null and empty collections as the yaml package does', () => {
    const value = {
      int: 42, neg: -7, zero: 0, negZero: -0, float: 1.5, tiny: 1e-7, huge: 1e21, max: Number.MAX_SAFE_INTEGER,
      t: true, f: false, nothing: null, emptyMap: {}, emptyList: [], skipped: undefined, onlyUndefined: { a: undefined },
      nested: [[], {}, [[1, [2, [3]]]], [{ a: 1, b: [{ c: {} }] }]],
    };
    expect(yamlText(value)).toBe(general(value));
    expect(yamlText({})).toBe(general({}));
    expect(yamlText([])).toBe(general([]));
    expect(yamlText('top')).toBe(general('top'));
  });

  it('leaves what it does not write itself to the yaml package: non-finite numbers, undefined in a list, class instances', () => {
    for (const value of [{ n: Number.NaN }, { n: Infinity }, [1, undefined], { d: new Date(0) }, { m: new Map([['a', 1]]) }]) {
      expect(yamlText(value)).toBe(general(value));
    }
  });

  it('writes an object that appears twice out in full both times, where yaml would write an alias', () => {
    const shared = { shards: 1, replicas: 1 };
    const value = { spans: shared, services: shared };
    expect(general(value)).toContain('*a1');
    expect(yamlText(value)).toBe('spans:\n  shards: 1\n  replicas: 1\nservices:\n  shards: 1\n  replicas: 1\n');
    expect(parse(yamlText(value))).toEqual(value);
  });

  it('hands a cycle to yaml, which writes it with an alias', () => {
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    expect(yamlText(loop)).toBe(general(loop));
  });

  it('writes every manifest of every example environment exactly as the yaml package does', () => {
    let compared = 0;
    for (const name of ['dev', 'staging', 'prod'] as const) {
      const env = example(name);
      const result = synthesizeEnvironment(env, { ruleFiles: stackRuleFiles(env), dashboards: stackDashboards(env) });
      for (const object of result.objects) {
        expect(yamlText(object), `${name} ${object.kind}/${object.metadata.name}`).toBe(general(object));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(300);
  });
});
