import { describe, expect, it } from 'vitest';
import { buildPromAst } from '../../src/validate/rules/promql-ast.js';
import { promqlFacts } from '../../src/validate/dashboards/promql-facts.js';

describe('the PromQL tree the rule checks read', () => {
  it('reads selectors: metric from the name, __name__ or a quoted name; every matcher unquoted', () => {
    expect(buildPromAst('up{job="a", "odd.label"!~"b|c"}')).toEqual({
      type: 'selector',
      text: 'up{job="a", "odd.label"!~"b|c"}',
      metric: 'up',
      matchers: [
        { name: 'job', op: '=', value: 'a' },
        { name: 'odd.label', op: '!~', value: 'b|c' },
      ],
    });
    expect(buildPromAst('{__name__="x", a=\'1\'}')).toMatchObject({ type: 'selector', metric: 'x' });
    expect(buildPromAst('{"metric.name", a="1"}')).toMatchObject({ type: 'selector', metric: 'metric.name', matchers: [{ name: 'a', op: '=', value: '1' }] });
  });

  it('reads aggregations, calls, ranges and subqueries', () => {
    const ast = buildPromAst('sum without (pod) (rate(http_requests_total{code=~"5.."}[5m:1m]))');
    expect(ast).toMatchObject({
      type: 'aggregate',
      op: 'sum',
      without: ['pod'],
      args: [{ type: 'call', fn: 'rate', args: [{ type: 'subquery', range: 300, expr: { type: 'selector', metric: 'http_requests_total' } }] }],
    });
    expect(buildPromAst('SUM by (job, "a.b") (x)')).toMatchObject({ type: 'aggregate', op: 'sum', by: ['job', 'a.b'] });
    expect(buildPromAst('topk(3, x)')).toMatchObject({ type: 'aggregate', op: 'topk', args: [{ type: 'number', value: 3 }, { type: 'selector' }] });
    expect(buildPromAst('increase(x[1h30m] offset 5m)')).toMatchObject({ type: 'call', fn: 'increase', args: [{ type: 'wrap', expr: { type: 'matrix', range: 5400, rangeText: '1h30m' } }] });
  });

  it('reads binary operators with their matching, group modifiers and bool', () => {
    expect(buildPromAst('a * on (x) group_left (y, z) b')).toMatchObject({ type: 'binary', op: '*', bool: false, on: ['x'], group: 'left', include: ['y', 'z'] });
    expect(buildPromAst('a / ignoring (x) group_right b')).toMatchObject({ type: 'binary', op: '/', ignoring: ['x'], group: 'right', include: [] });
    expect(buildPromAst('a > bool 1')).toMatchObject({ type: 'binary', op: '>', bool: true, include: [], rhs: { type: 'number', value: 1 } });
    expect(buildPromAst('a AND b')).toMatchObject({ type: 'binary', op: 'and' });
    expect(buildPromAst('a or b')).not.toHaveProperty('on');
  });

  it('reads numbers, strings and wrappers', () => {
    expect(buildPromAst('-2')).toMatchObject({ type: 'number', value: -2 });
    expect(buildPromAst('-(2)')).toMatchObject({ type: 'wrap', expr: { type: 'wrap', expr: { type: 'number', value: 2 } } });
    expect(buildPromAst('1e3')).toMatchObject({ type: 'number', value: 1000 });
    expect(buildPromAst('-Inf')).toMatchObject({ type: 'number', value: -Infinity });
    expect(buildPromAst('"a\\"b"')).toEqual({ type: 'string', text: '"a\\"b"', value: 'a"b' });
    expect(buildPromAst('(x) @ end()')).toMatchObject({ type: 'wrap', expr: { type: 'wrap', expr: { type: 'selector', metric: 'x' } } });
  });

  it('gives nothing for an expression that does not parse', () => {
    expect(buildPromAst('sum(rate(x[5m])')).toBeUndefined();
    expect(buildPromAst('')).toBeUndefined();
  });
});

describe('the PromQL facts the dashboard checks read', () => {
  it('lists selectors with their matchers (unquoted, then quoted), consumer and range', () => {
    const expr = 'sum by (le) (rate(x_bucket{"b"="2", a="1"}[5m])) / y';
    const facts = promqlFacts(expr);
    expect(facts.errors).toEqual([]);
    expect(facts.selectors).toEqual([
      {
        metric: 'x_bucket',
        text: 'x_bucket{"b"="2", a="1"}',
        from: expr.indexOf('x_bucket'),
        matchers: [
          { name: 'a', op: '=', value: '1' },
          { name: 'b', op: '=', value: '2' },
        ],
        consumer: 'rate',
        ranged: true,
      },
      { metric: 'y', text: 'y', from: expr.length - 1, matchers: [], ranged: false },
    ]);
    expect(facts.ranges).toEqual([{ fn: 'rate', from: expr.indexOf('5m'), to: expr.indexOf('5m') + 2, text: '5m' }]);
  });

  it('reports every syntax error, and an expression of comments only', () => {
    expect(promqlFacts('rate(x[5m]').errors).toEqual(['at offset 10: unexpected end of expression']);
    expect(promqlFacts('# nothing').errors).toContain('empty expression');
  });
});
