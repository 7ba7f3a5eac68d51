import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseBlockYaml } from '../../src/validate/rules/block-yaml.js';
import { corpusRuleFiles } from '../support/corpus.js';

/** Documents the fast reader reads: it must give exactly what `yaml` gives. */
const READ = [
  'groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 5m\n',
  'groups:\n  - name: a\n    interval: 30s\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n',
  // plain scalars of every core-schema type, and strings that only look like one
  'a: 1\nb: -1\nc: +1\nd: 0o17\ne: 0x1F\nf: 1.0\ng: .5\nh: 1e3\ni: -.inf\nj: .NaN\nk: null\nl: ~\nm: true\nn: False\no: yes\np: 012\nq: 1_000\nr: 12:30\ns: 5m\n',
  'a: -x\nb: a#b\nc: a #comment\nd: a:b\ne: Host {{ $labels.instance }} is down\nf: ümlaut\n',
  // quoted scalars with escapes
  'a: "line\\nnext \\"q\\" \\\\ \\t \\u00e9 \\x41 \\/"\nb: \'it\'\'s\'\nc: "x" # after\nd: ""\ne: \'\'\n',
  // literal and folded block scalars, clipped and stripped
  'expr: |\n  sum(rate(x[5m]))\n    / 2\n\n  > 1\nnext: |-\n  a\n  b\n\n',
  'description: >\n  one\n  two\n\n  three\nsummary: >-\n  a\n  b\n# trailing comment\n',
  'k: | # a comment on the header\n  # not a comment\n  x\n',
  // nesting, empty values, comments and blank lines anywhere
  '# head\n---\na:\n  b:\n    - 1\n    -\n      c: d\n  e:\n  f: []\n  g: {}\n\n# end\n',
  'list:\n- a\n-\n- b: 1\n  c: 2\nafter: x\n',
];

/** Documents it leaves to `yaml` (which then reads them or words their error). */
const LEFT = [
  'a: &x 1\nb: *x\n',
  'a: !!str 1\n',
  'a: [1, 2]\n',
  'a: {b: 1}\n',
  'a: b\n  continued\n',
  'a: "open\n  close"\n',
  'a: 1\na: 2\n',
  '"quoted key": 1\n',
  'a:\tb\n',
  'a: |+\n  keep\n\n',
  'a: |2\n   x\n',
  'a: b: c\n',
  '- a\nb: 1\n',
  'a: 1\n---\nb: 2\n',
  '%YAML 1.2\n---\na: 1\n',
  '  a: 1\n',
  'a: |\n  x',
  '? complex\n: key\n',
  'a: "\\q"\n',
  'a: {{ $labels.instance }}\n',
  'a:\n  - - nested\n',
  '__proto__: 1\n',
  '',
];

describe('the fast YAML reader of rule files', () => {
  it.each(READ)('reads %j exactly as yaml does', (text) => {
    const fast = parseBlockYaml(text);
    expect(fast).toBeDefined();
    expect(fast!.value).toStrictEqual(parse(text));
    expect(Object.keys(fast!.value as object)).toEqual(Object.keys(parse(text) as object));
  });

  it.each(LEFT)('leaves %j to yaml', (text) => {
    expect(parseBlockYaml(text)).toBeUndefined();
  });

  it.skipIf(corpusRuleFiles() === undefined)('reads every rule file of the public corpus, as yaml does', () => {
    for (const file of corpusRuleFiles()!) {
      const text = readFileSync(file, 'utf8');
      const fast = parseBlockYaml(text);
      expect(fast, file).toBeDefined();
      expect(fast!.value, file).toStrictEqual(parse(text));
    }
  });
});
