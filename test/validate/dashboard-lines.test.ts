import { describe, expect, it } from 'vitest';
import { FindingSink } from '../../src/validate/dashboards/rule-table.js';

/** A sink with one finding per path, anchored by the given texts. */
function locate(text: string, anchors: Record<string, readonly string[]>): Array<number | undefined> {
  const sink = new FindingSink('d.json');
  sink.anchorsFrom((path) => anchors[path]);
  for (const path of Object.keys(anchors)) sink.add('panel-units', 'm', path);
  return sink.located(text).map((f) => f.line);
}

describe('the line of a dashboard finding', () => {
  it('is where its text is written as a JSON string, never inside another string', () => {
    const text = [
      '{',
      // A naive search finds "Errors" here first: its first quote is an escaped one.
      '  "description": "say \\"Errors",',
      // The closing quote follows an escaped backslash: the next string starts after it.
      '  "path": "C:\\\\",',
      '  "title": "Errors",',
      '  "expr": "rate(x[5m])"',
      '}',
    ].join('\n');
    expect(locate(text, { a: ['Errors'], b: ['rate(x[5m])'], c: ['absent'], d: [] })).toEqual([4, 5, undefined, undefined]);
  });

  it('picks, among several places of a query, the one nearest its panel title', () => {
    const text = ['{"panels": [', '  {"title": "A",', '   "expr": "up"},', '  {"title": "B",', '   "expr": "up"}', ']}'].join('\n');
    expect(locate(text, { a: ['A', 'up'], b: ['B', 'up'], c: ['up'] })).toEqual([3, 5, 3]);
  });
});
