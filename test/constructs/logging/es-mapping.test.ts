import { describe, expect, it } from 'vitest';
import { IndexMapping } from './es-mapping.js';

/** An index with these mappings and settings, as the index template API takes them. */
const index = (mappings: Record<string, unknown>, settings: Record<string, unknown> = {}): IndexMapping => new IndexMapping({ template: { settings, mappings } });

// Each case is a behaviour of Elasticsearch 8 stated in its mapping reference
// (object, keyword, numeric `coerce`, `ignore_malformed`, date `format`,
// `dynamic`, dynamic templates, `enabled`, flattened).
describe('the mapping checker refuses what Elasticsearch refuses', () => {
  it('an object field given a concrete value, and a value field given an object', () => {
    const i = index({ properties: { event: { properties: { action: { type: 'keyword' } } }, message: { type: 'text' } } });
    expect(i.index({ event: 'user logged in' }).refused).toMatch(/object mapping for \[event\] tried to parse field \[event\] as object, but found a concrete value/);
    expect(i.index({ message: { text: 'x' } }).refused).toMatch(/\[message\] of type \[text\]/);
    expect(i.index({ event: { action: 'login' }, message: 'ok' }).refused).toBeUndefined();
    // A dotted name is the same path as the nested object.
    expect(i.index({ 'event.action': 'login' }).refused).toBeUndefined();
    expect(i.index({ 'event.action': { x: 1 } }).refused).toMatch(/\[event\.action\] of type \[keyword\]/);
  });

  it('keywords take numbers and booleans; a value over ignore_above is stored, not refused', () => {
    const i = index({ properties: { k: { type: 'keyword', ignore_above: 5 } } });
    expect(i.index({ k: 42 }).refused).toBeUndefined();
    expect(i.index({ k: true }).refused).toBeUndefined();
    const long = i.index({ k: 'abcdefgh' });
    expect(long.refused).toBeUndefined();
    expect(long.ignored).toEqual(['k']);
  });

  it('numbers: numeric strings coerced, fractions cut, other text refused unless ignore_malformed', () => {
    const i = index({ properties: { n: { type: 'long' }, strict: { type: 'long', coerce: false }, lenient: { type: 'integer', ignore_malformed: true } } });
    expect(i.index({ n: '12' }).refused).toBeUndefined();
    expect(i.index({ n: 1.5 }).refused).toBeUndefined();
    expect(i.index({ n: 'abc' }).refused).toMatch(/\[n\] of type \[long\]/);
    expect(i.index({ n: true }).refused).toMatch(/\[n\] of type \[long\]/);
    expect(i.index({ strict: '12' }).refused).toMatch(/\[strict\]/);
    expect(i.index({ strict: 1.5 }).refused).toMatch(/fraction/);
    expect(i.index({ lenient: 'abc' })).toEqual({ ignored: ['lenient'] });
    expect(i.index({ lenient: 2 ** 40 }).ignored).toEqual(['lenient']);
    // The index-wide setting does the same for every field that supports it.
    expect(index({ properties: { n: { type: 'long' } } }, { 'index.mapping.ignore_malformed': true }).index({ n: 'abc' })).toEqual({ ignored: ['n'] });
  });

  it('dates follow strict_date_optional_time||epoch_millis unless a format is given', () => {
    const i = index({ properties: { d: { type: 'date' }, f: { type: 'date', format: 'epoch_second' } } });
    for (const ok of ['2024-01-15', '2024-01-15T14:30:00Z', '2024-01-15T14:30:00.123456+01:00', 1705329000123, '1705329000123']) expect(i.index({ d: ok }).refused, String(ok)).toBeUndefined();
    for (const bad of ['15/01/2024', '2024-01-15 14:30:00,123', 'yesterday']) expect(i.index({ d: bad }).refused, bad).toMatch(/\[d\] of type \[date\]/);
    expect(i.index({ f: '2024-01-15' }).refused).toMatch(/\[f\]/);
  });

  it('ip fields take IPv4 and IPv6 literals only', () => {
    const i = index({ properties: { ip: { type: 'ip' } } });
    expect(i.index({ ip: '10.0.0.1' }).refused).toBeUndefined();
    expect(i.index({ ip: '2001:db8::1' }).refused).toBeUndefined();
    expect(i.index({ ip: '10.0.0.256' }).refused).toMatch(/\[ip\] of type \[ip\]/);
    expect(i.index({ ip: 'a3f5c0de' }).refused).toMatch(/\[ip\]/);
  });

  it('dynamic: strict refuses an unknown field, false keeps it unindexed, and the setting is inherited', () => {
    const i = index({ dynamic: 'strict', properties: { a: { type: 'keyword' }, open: { dynamic: true, properties: {} }, quiet: { dynamic: false, properties: {} } } });
    expect(i.index({ b: 'x' }).refused).toMatch(/mapping set to strict, dynamic introduction of \[b\] within \[_doc\] is not allowed/);
    expect(i.index({ open: { b: 'x' } }).refused).toBeUndefined();
    expect(i.index({ quiet: { b: { c: 1 } } })).toEqual({ ignored: ['quiet.b'] });
  });

  it('the first dynamic mapping of a field decides for the documents after it', () => {
    const i = index({ properties: {} });
    expect(i.index({ x: 1 }).refused).toBeUndefined();
    expect(i.index({ x: 'abc' }).refused).toMatch(/\[x\] of type \[long\]/);
    expect(i.index({ y: 'a' }).refused).toBeUndefined();
    expect(i.index({ y: { z: 1 } }).refused).toMatch(/\[y\] of type \[text\]/);
    expect(i.index({ o: { z: 1 } }).refused).toBeUndefined();
    expect(i.index({ o: 'flat' }).refused).toMatch(/object mapping for \[o\]/);
    // A refused document leaves no mapping behind.
    expect(i.index({ p: 1, x: 'abc' }).refused).toBeDefined();
    expect(i.index({ p: 'text' }).refused).toBeUndefined();
  });

  it('dynamic templates apply in order, by detected type, name and path', () => {
    const i = index({
      dynamic_templates: [
        { ids: { match: '*_id', mapping: { type: 'keyword' } } },
        { objects: { match_mapping_type: 'object', mapping: { type: 'flattened' } } },
        { labels: { path_match: 'labels.*', match_mapping_type: 'long', mapping: { type: 'keyword' } } },
      ],
      properties: { labels: { type: 'object' } },
    });
    expect(i.index({ order_id: 12, meta: { a: { b: [1, 'x'] } }, labels: { n: 1 } }).refused).toBeUndefined();
    expect(i.index({ order_id: 'A-12', meta: { a: 'now a string' }, labels: { n: 'x' } }).refused).toBeUndefined();
    // flattened takes only objects.
    expect(i.index({ meta: 'scalar' }).refused).toMatch(/\[meta\] of type \[flattened\]/);
  });

  it('enabled: false takes any shape, and a data stream needs @timestamp', () => {
    const i = new IndexMapping({ data_stream: {}, template: { mappings: { properties: { '@timestamp': { type: 'date' }, raw: { type: 'object', enabled: false } } } } });
    for (const raw of ['text', 1, { a: { b: [1, { c: 'x' }] } }, [1, 'a']]) expect(i.index({ '@timestamp': '2024-01-15T00:00:00Z', raw }).refused).toBeUndefined();
    expect(i.index({ raw: 1 }).refused).toMatch(/@timestamp/);
  });

  it('constant_keyword takes only its value', () => {
    const i = index({ properties: { ds: { type: 'constant_keyword', value: 'obstack' } } });
    expect(i.index({ ds: 'obstack' }).refused).toBeUndefined();
    expect(i.index({ ds: 'other' }).refused).toMatch(/constant_keyword/);
  });
});
