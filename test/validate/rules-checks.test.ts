import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  lintRuleFiles,
  type MetricType,
  parseCheckConfig,
  parseMetricTypes,
  parseRuleFileText,
  type RuleCheckSettings,
  type RuleFinding,
  stackMetricCatalog,
} from '../../src/validate/index.js';

type RuleSpec = Record<string, unknown>;

/** Lints rules given as objects (one group), with no catalog unless one is given. */
function lint(rules: RuleSpec[], opts: { settings?: RuleCheckSettings; types?: Record<string, MetricType>; catalog?: boolean } = {}): RuleFinding[] {
  const text = stringify({ groups: [{ name: 'g', rules }] });
  const parsed = parseRuleFileText('t.yaml', text);
  return [
    ...parsed.findings,
    ...lintRuleFiles([{ name: 't.yaml', content: parsed.file! }], {
      profile: 'external',
      catalog: opts.catalog ? stackMetricCatalog() : false,
      metricTypes: new Map(Object.entries(opts.types ?? {})),
      ...(opts.settings ? { settings: opts.settings } : {}),
    }),
  ].filter((f) => !f.policy || opts.settings !== undefined);
}
const alert = (expr: string, extra: RuleSpec = {}): RuleSpec => ({ alert: 'A', expr, labels: { severity: 'warning' }, annotations: { summary: 's', runbook_url: 'r' }, ...extra });
const checks = (findings: readonly RuleFinding[], check: string) => findings.filter((f) => f.check === check);
const only = (rules: RuleSpec[], check: string, opts?: Parameters<typeof lint>[1]) => checks(lint(rules, opts), check);

describe('alerts/comparison', () => {
  it('warns of an alert whose query has no condition, and errs on `bool` and `or vector()`', () => {
    expect(only([alert('rate(errors_total[5m])')], 'alerts/comparison').map((f) => f.level)).toEqual(['warning']);
    expect(only([alert('up > bool 0')], 'alerts/comparison').map((f) => f.level)).toEqual(['error']);
    expect(only([alert('up == 0 or vector(1)')], 'alerts/comparison').map((f) => f.level)).toEqual(['error']);
  });
  it('accepts a condition, absent(), a dead man’s switch and ALERTS', () => {
    for (const e of ['up == 0', 'absent(up{job="a"})', 'vector(1)', 'ALERTS{alertstate="firing"}', '(count(x) or vector(0)) < 1']) expect(only([alert(e)], 'alerts/comparison'), e).toEqual([]);
  });
  it('only notes a query whose label filter makes existence the condition', () => {
    expect(only([alert('pg_index{name=~".*ccnew.*"}')], 'alerts/comparison').map((f) => f.level)).toEqual(['info']);
  });
});

describe('alerts/for', () => {
  it('notes a `for` or `keep_firing_for` of zero as the default, and refuses a duration Prometheus cannot read', () => {
    expect(only([alert('up == 0', { for: '0m', keep_firing_for: '0s' })], 'alerts/for').map((f) => f.level)).toEqual(['info', 'info']);
    expect(only([alert('up == 0', { for: '5 minutes' })], 'alerts/for').map((f) => f.level)).toEqual(['error']);
    expect(only([alert('up == 0', { for: '1m5h' })], 'alerts/for').map((f) => f.level)).toEqual(['error']);
  });
  it('accepts `for: 0` (a valid duration) with nothing more than the note, and real durations without one', () => {
    const zero = lint([alert('up == 0', { for: 0 })]);
    expect(zero.map((f) => `${f.check} ${f.level}`)).toEqual(['alerts/for info']);
    expect(only([alert('up == 0', { for: '1h30m', keep_firing_for: '10m' })], 'alerts/for')).toEqual([]);
  });
});

describe('alerts/template', () => {
  it('warns when a template reads a label the query aggregates away, following by, without and on()', () => {
    const sum = only([alert('sum by (job) (up) == 0', { annotations: { summary: '{{ $labels.instance }} down' } })], 'alerts/template');
    expect(sum.map((f) => f.message)).toEqual(['annotations.summary reads $labels.instance, but the query\'s result only has job: it renders empty']);
    expect(only([alert('sum without (instance) (up) == 0', { annotations: { summary: '{{ $labels.instance }}' } })], 'alerts/template')).toHaveLength(1);
    expect(only([alert('sum by (job) (up) * on (job) group_left (team) info == 0', { annotations: { summary: '{{ $labels.instance }}' } })], 'alerts/template')).toHaveLength(1);
    expect(only([alert('x > on (job) y', { annotations: { summary: '{{ index $labels "pod" }}' } })], 'alerts/template')).toHaveLength(1);
  });
  it('accepts labels the result keeps, through by, group_left, label_replace and absent()', () => {
    const ok = [
      ['sum by (job, instance) (up) == 0', '{{ $labels.instance }}'],
      ['up == 0', '{{ $labels.anything }}'],
      ['up * on (job) group_left (team) info == 0', '{{ $labels.team }} {{ $labels.instance }}'],
      ['label_replace(sum(up), "pod", "$1", "x", "(.*)") == 0', '{{ $labels.pod }}'],
      ['absent(up{job="api"})', '{{ $labels.job }}'],
    ];
    for (const [expr, summary] of ok) expect(only([alert(expr!, { annotations: { summary } })], 'alerts/template'), expr).toEqual([]);
  });
  it('refuses a template Go cannot parse, and warns of the value in a label', () => {
    expect(only([alert('up == 0', { annotations: { summary: '{{ $labels.job }' } })], 'alerts/template').map((f) => f.level)).toEqual(['error']);
    expect(only([alert('up == 0', { annotations: { summary: '{{ $job }}' } })], 'alerts/template')[0]?.message).toContain('undefined variable "$job"');
    expect(only([alert('up == 0', { annotations: { summary: '{{ $x := 1 }}{{ $x }} {{ $value | humanize }}' } })], 'alerts/template')).toEqual([]);
    expect(only([alert('up == 0', { labels: { severity: 'warning', v: '{{ $value }}' } })], 'alerts/template').map((f) => f.level)).toEqual(['warning']);
  });
});

describe('promql/counter', () => {
  const types = { errors_total: 'counter' as const, queue: 'gauge' as const };
  it('warns of an alert on the raw value of a counter, known as one from metadata', () => {
    expect(only([alert('errors_total > 10')], 'promql/counter', { types }).map((f) => f.level)).toEqual(['warning']);
    // No metadata, no finding: the name alone proves nothing.
    expect(only([alert('errors_total > 10')], 'promql/counter')).toEqual([]);
  });
  it('accepts rate(), increase(), absent(), count(), `> 0`, a new-series window and gauges', () => {
    for (const e of ['rate(errors_total[5m]) > 1', 'absent(errors_total)', 'count(errors_total) > 3', 'errors_total > 0', '(errors_total unless errors_total offset 10m) > 3', 'queue > 10', 'up and errors_total']) {
      expect(only([alert(e)], 'promql/counter', { types }), e).toEqual([]);
    }
  });
});

describe('promql/rate', () => {
  it('refuses a range shorter than two scrape intervals (30s by default, configurable)', () => {
    expect(only([alert('rate(x_total[45s]) > 0')], 'promql/rate').map((f) => f.message)).toEqual([
      'rate(x_total[45s]): a range of 45s holds fewer than two samples at a 30s scrape interval, so it often returns nothing; use at least [1m]',
    ]);
    expect(only([alert('rate(x_total[1m]) > 0')], 'promql/rate')).toEqual([]);
    expect(only([alert('rate(x_total[1m]) > 0')], 'promql/rate', { settings: { scrapeInterval: '1m' } })).toHaveLength(1);
  });
  it('refuses rate() over a gauge when metadata says so, and accepts a counter without _total', () => {
    const types = parseMetricTypes('# HELP queue_depth q\n# TYPE queue_depth gauge\n# TYPE logstash_events_in counter\n');
    expect(only([alert('rate(queue_depth[5m]) > 0')], 'promql/rate', { types: Object.fromEntries(types) })[0]?.message).toMatch(/rate\(\) over queue_depth, a gauge \(metric types\)/);
    expect(only([alert('rate(logstash_events_in[5m]) > 0')], 'promql/rate', { types: Object.fromEntries(types) })).toEqual([]);
    expect(only([alert('rate(my_events[5m]) > 0')], 'promql/rate')).toEqual([]);
  });
  it('refuses the rate of a sum: a subquery over sum(), or a series recorded as a sum or a rate', () => {
    expect(only([alert('rate(sum(x_total)[5m:]) > 0')], 'promql/rate')).toHaveLength(1);
    const recorded = (expr: string) => [{ record: 'job:x:sum', expr }, alert('rate(job:x:sum[5m]) > 0')];
    expect(only(recorded('sum by (job) (x_total)'), 'promql/rate')[0]?.message).toContain('records as sum(...)');
    expect(only(recorded('sum by (job) (rate(x_total[5m]))'), 'promql/rate')[0]?.message).toContain('already a rate');
    expect(only(recorded('x_total{job="a"}'), 'promql/rate')).toEqual([]);
  });
});

describe('promql/fragile', () => {
  it('warns of topk() and bottomk() choosing an alert’s series', () => {
    expect(only([alert('topk(3, rate(x_total[5m])) > 1')], 'promql/fragile').map((f) => f.level)).toEqual(['warning']);
  });
  it('accepts topk() whose labels an aggregation fixes, and recording rules', () => {
    expect(only([alert('sum(topk(3, x)) > 1')], 'promql/fragile')).toEqual([]);
    expect(only([{ record: 'top:x', expr: 'topk(3, x)' }], 'promql/fragile')).toEqual([]);
  });
});

describe('promql/impossible', () => {
  it('refuses a join that can never match, and warns of grouping by a label already gone', () => {
    expect(only([alert('x{job="a"} unless sum(x)')], 'promql/impossible').map((f) => f.level)).toEqual(['error']);
    expect(only([alert('(a / ignoring(limit) b{limit="max"}) > 0.8 and (b{limit="max"} > 0)')], 'promql/impossible').map((f) => f.level)).toEqual(['error']);
    expect(only([alert('sum by (cluster) (sum(x)) > 1')], 'promql/impossible').map((f) => f.level)).toEqual(['warning']);
    expect(only([alert('sum(x) / on (cluster) y{cluster="a"} > 1')], 'promql/impossible').map((f) => f.level)).toEqual(['error']);
  });
  it('accepts joins whose sides can match', () => {
    for (const e of ['x{job="a"} unless on (job) sum by (job) (x)', 'sum(x) / sum(y) > 1', 'x / ignoring(limit) y{limit="m"} > 1', 'up == 0 or vector(0)', 'sum by (job) (x) > 1']) {
      expect(only([alert(e)], 'promql/impossible'), e).toEqual([]);
    }
  });
});

describe('promql/regexp', () => {
  it('notes regular expressions without a pattern, redundant anchors and .* matchers', () => {
    expect(only([alert('x{job=~"api"} > 0')], 'promql/regexp')[0]?.message).toContain('job="api" says the same');
    expect(only([alert('x{code=~"^5.."} > 0')], 'promql/regexp')[0]?.message).toContain('^ and $ are redundant');
    expect(only([alert('x{code=~".*"} > 0')], 'promql/regexp')).toHaveLength(1);
    expect(only([alert('x{job=~"api"} > 0')], 'promql/regexp')[0]?.level).toBe('info');
  });
  it('accepts real patterns', () => {
    expect(only([alert('x{code=~"5..", job!~"a|b", path=~"/api/.+"} > 0')], 'promql/regexp')).toEqual([]);
  });
});

describe('promql/selector (configured)', () => {
  const settings: RuleCheckSettings = { selectors: [{ metric: 'up|x_.*', requiredLabels: ['job'] }] };
  it('warns of a selector of a matching metric without the required labels', () => {
    expect(only([alert('up == 0')], 'promql/selector', { settings }).map((f) => f.level)).toEqual(['warning']);
    expect(only([alert('absent(up)')], 'promql/selector', { settings: { selectors: [{ metric: '.+', requiredLabels: ['job'], call: 'absent' }] } })).toHaveLength(1);
  });
  it('accepts selectors that filter on them, and metrics the setting does not name', () => {
    expect(only([alert('up{job="a"} == 0 and other > 1')], 'promql/selector', { settings })).toEqual([]);
    expect(only([alert('up == 0')], 'promql/selector', { settings: { selectors: [{ metric: '.+', requiredLabels: ['job'], call: 'absent' }] } })).toEqual([]);
  });
});

describe('promql/aggregate (configured)', () => {
  const settings: RuleCheckSettings = { aggregate: [{ name: 'job:.+', keep: ['job'], kind: 'recording' }, { name: 'cluster:.+', strip: ['instance'] }] };
  it('warns when a recording rule drops a label it must keep, or keeps one it must strip', () => {
    expect(only([{ record: 'job:x:sum', expr: 'sum(x)' }], 'promql/aggregate', { settings })).toHaveLength(1);
    expect(only([{ record: 'cluster:x:sum', expr: 'sum without (job) (x)' }], 'promql/aggregate', { settings })).toHaveLength(1);
  });
  it('accepts aggregations that keep and strip what they must', () => {
    expect(only([{ record: 'job:x:sum', expr: 'sum by (job) (x)' }, { record: 'cluster:x:sum', expr: 'sum by (cluster) (x)' }], 'promql/aggregate', { settings })).toEqual([]);
  });
});

describe('rule/duplicate', () => {
  it('warns of an alert or a recording rule defined twice with the same expression and labels', () => {
    expect(only([alert('up == 0'), alert('up  ==  0')], 'rule/duplicate')).toHaveLength(1);
    expect(only([{ record: 'r', expr: 'sum(x)' }, { record: 'r', expr: 'sum(x)' }], 'rule/duplicate')).toHaveLength(1);
  });
  it('keeps apart alerts that share a name with other conditions or labels', () => {
    expect(only([alert('up == 0'), alert('absent(up)'), alert('up == 0', { labels: { severity: 'critical' } })], 'rule/duplicate')).toEqual([]);
  });
});

describe('configured policy: alerts/annotation, rule/label, rule/name, rule/for', () => {
  const settings = parseCheckConfig({
    rules: {
      annotations: [{ name: 'runbook_url', required: true, value: 'https://runbooks\\..+' }],
      labels: [{ name: 'severity', required: true, value: 'critical|warning' }, { name: 'team', required: true, kind: 'alerting', level: 'error' }],
      names: [{ pattern: '[A-Z][A-Za-z0-9]*', kind: 'alerting' }, { pattern: '[a-z_]+:[a-z_]+:[a-z0-9_]+', kind: 'recording' }],
      for: { min: '1m', max: '1h' },
      keepFiringFor: { max: '30m' },
    },
  }).rules;
  it('reports missing and mismatching fields, names and durations, all as policy', () => {
    const f = lint([alert('up == 0', { alert: 'bad-name', labels: { severity: 'page' }, annotations: { runbook_url: 'http://x' }, keep_firing_for: '1h' }), { record: 'nocolons', expr: 'sum(x)' }], { settings });
    const policy = f.filter((x) => x.policy).map((x) => `${x.check} ${x.level} ${x.rule}`);
    expect(policy).toEqual([
      // The external profile's own: some text for the responder.
      'alerts/annotation warning bad-name',
      // severity "page" does not match, team is missing (an error, as configured), runbook_url is not under https://runbooks.
      'rule/label warning bad-name',
      'rule/label error bad-name',
      'alerts/annotation warning bad-name',
      'rule/name info bad-name',
      // for: 0s (not set) is below 1m; keep_firing_for: 1h is above 30m.
      'rule/for error bad-name',
      'rule/for error bad-name',
      'rule/label warning nocolons',
      'rule/name info nocolons',
    ]);
  });
  it('accepts rules that meet every requirement', () => {
    const good = alert('up == 0', { alert: 'Good', for: '5m', labels: { severity: 'critical', team: 'a' }, annotations: { summary: 's', runbook_url: 'https://runbooks.example/good' } });
    expect(lint([good, { record: 'job:x:sum', expr: 'sum by (job) (x)', labels: { severity: 'warning' } }], { settings }).filter((x) => x.policy)).toEqual([]);
  });
  it('names the field of a wrong setting', () => {
    expect(() => parseCheckConfig({ rules: { labels: [{ name: '(' }] } })).toThrow(/rules\.labels\[0\]\.name: "\(" is not a regular expression/);
    expect(() => parseCheckConfig({ rules: { for: { min: 'soon' } } })).toThrow(/rules\.for\.min: must be a Prometheus duration/);
    expect(() => parseCheckConfig({ rules: { selectors: [{ metric: 'up' }] } })).toThrow(/rules\.selectors\[0\]\.requiredLabels/);
    expect(() => parseCheckConfig({ rules: { scrapeIntervall: '1m' } })).toThrow(/rules\.scrapeIntervall: unknown field/);
  });
});

describe('rule files Prometheus loads', () => {
  it('are not refused when empty: nothing, null, {}, no groups, a group without rules', () => {
    for (const text of ['', 'null\n', '{}\n', 'groups: []\n', 'groups:\n- name: g\n  rules:\n']) {
      const parsed = parseRuleFileText('t.yaml', text);
      expect(parsed.findings, JSON.stringify(text)).toEqual([]);
      expect(lintRuleFiles([{ name: 't.yaml', content: parsed.file! }], { profile: 'external', catalog: false })).toEqual([]);
    }
  });
  it('are refused for what Prometheus refuses: unknown fields, a group twice, both alert and record', () => {
    const refused = (text: string) => parseRuleFileText('t.yaml', text).findings.map((f) => `${f.check} ${f.level}`);
    expect(refused('groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    keep_firing: 5m\n')).toEqual(['rule/structure error']);
    expect(refused('groups:\n- name: g\n  rules: []\n- name: g\n  rules: []\n')).toEqual(['group/duplicate error']);
    expect(refused('groups:\n- name: g\n  rules:\n  - alert: A\n    record: a\n    expr: up\n')).toEqual(['rule/structure error']);
    expect(refused('groups: 3\n')).toEqual(['rule/structure error']);
  });
  it('give each finding the line of its rule', () => {
    const parsed = parseRuleFileText('t.yaml', 'groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n  - alert: B\n    expr: rate(x[10s]) > 0\n');
    const f = lintRuleFiles([{ name: 't.yaml', content: parsed.file! }], { profile: 'external', catalog: false }).filter((x) => !x.policy);
    expect(f.map((x) => `${x.rule}:${x.line} ${x.check}`)).toEqual(['A:4 alerts/comparison', 'B:6 promql/rate']);
  });
});
