import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isJsonObject, jsonObject, oneOrMany } from '../../src/ingest/http/schemas.js';
import { acceptEvent, eventSchema } from '../../src/ingest/routes/events.js';

/**
 * The fast path of a valid events body must be a shortcut, never a door: for
 * every input, the body schema with `acceptEvent` answers exactly what the
 * zod schema alone answers (same success, same data, same issues), and
 * `acceptEvent` says true only for events the schema accepts unchanged. The
 * inputs are every class of value the field checks refuse, mixed at random
 * with valid ones, and the valid ones must take the fast path.
 */

const DAYS = 90;
const MAX = 5;
const schema = eventSchema(DAYS);
const accept = acceptEvent(DAYS);
const zodOnly = oneOrMany(schema, 'events', MAX);
const withFastPath = oneOrMany(schema, 'events', MAX, accept);

/** A small deterministic generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOUR = 3_600_000;
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
/** `ms` written with the zone offset `sign hh:mm`. */
function withOffset(ms: number, offset: string): string {
  const m = /^([+-])(\d\d):(\d\d)$/.exec(offset)!;
  const minutes = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  return `${iso(ms + minutes * 60_000).slice(0, 23)}${offset}`;
}
/** A failing input as text, BigInt included. */
const show = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
const nested = (depth: number): unknown => (depth === 0 ? 1 : { n: nested(depth - 1) });
/** Properties whose JSON text is exactly `length` characters, written with characters JSON escapes to 6 (`\u0001`) or 2 (`\n`) when `escaped`. */
function propsOfLength(length: number, escaped: '' | '\u0001' | '\n' = ''): Record<string, unknown> {
  const overhead = JSON.stringify({ blob: '' }).length;
  const unit = escaped === '' ? 1 : JSON.stringify(escaped).length - 2;
  const n = Math.floor((length - overhead) / unit);
  const blob = (escaped || 'x').repeat(n) + 'x'.repeat(length - overhead - n * unit);
  const props = { blob };
  expect(JSON.stringify(props).length).toBe(length);
  return props;
}

/** `props` with a `pad` string added so that its JSON text is exactly `length` characters. */
function padTo(props: Record<string, unknown>, length: number): Record<string, unknown> {
  const padded = { ...props, pad: 'x'.repeat(length - JSON.stringify({ ...props, pad: '' }).length) };
  expect(JSON.stringify(padded).length).toBe(length);
  return padded;
}
/** Properties near the size limit made of what JSON writes longest: long numbers, keys of escaped characters, nested arrays. */
const sizeShapes = (): Record<string, unknown>[] => [
  Object.fromEntries(Array.from({ length: 240 }, (_, i) => [`n${i}`, -0.0000019360684295281103])),
  { list: Array.from({ length: 320 }, () => -1.2345678901234567e-300) },
  Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`${'\u0001'.repeat(20)}${i}`, true])),
  Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`${'\n'.repeat(30)}${i}`, null])),
  { a: [[['\u0002'.repeat(100)]]], b: { c: { d: '"'.repeat(3_000) } } },
];

/** Values of each field: the first ones valid, then every class the checks refuse; `undefined` leaves the field out. */
function fieldValues(now: number): Record<string, readonly unknown[]> {
  const ok = [undefined, 'u1', 'x'.repeat(256), 'a\ud83d\ude00b', '\ud83d\ude00'.repeat(128), 'ünïcödé 中文', 'quote " back \\ slash'];
  const bad = ['', 'x'.repeat(257), '\ud83d\ude00'.repeat(129), 'a\u0000b', 'a\ud800b', 'a\udc00b', `${'x'.repeat(10)}\ud800`, '\udfff', 42, null, true, {}, ['u1']];
  return {
    type: [
      'page_view', 'session_start', 'session_end', 'feature_used', 'conversation_rated', 'request', 'checkout.done', 'a', 'x'.repeat(64),
      'toString', 'constructor', 'hasOwnProperty', '__proto__',
      'x'.repeat(65), '', '1abc', 'drop table;', 'a b', 'ä', 42, null, undefined, ['page_view'],
    ],
    event_id: [
      undefined, randomUUID(), randomUUID().toUpperCase(), '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
      'not-a-uuid', '123e4567-e89b-92d3-a456-426614174000', '123e4567-e89b-12d3-c456-426614174000', `${randomUUID()} `, randomUUID().replace(/-/g, ''), 42, null,
    ],
    user_id: [...ok, ...bad],
    session_id: [...ok, ...bad],
    timestamp: [
      undefined, iso(now), iso(now - DAY), iso(now + 59 * 60_000), iso(now - (DAYS - 1) * DAY), withOffset(now, '+14:00'), withOffset(now, '-12:00'),
      withOffset(now, '+05:30'), `${iso(now).slice(0, 19)}.123456789Z`, `${iso(now).slice(0, 19)}Z`,
      iso(now + 61 * 60_000), iso(now - (DAYS + 1) * DAY), withOffset(now, '+14:01'), withOffset(now, '-14:01'), withOffset(now, '+15:59'),
      withOffset(now, '+23:59'), '0000-01-01T00:00:00Z', '1969-12-31T23:59:59Z', '9999-12-31T23:59:59-14:00', '+010000-01-01T00:00:00Z',
      '2024-02-30T00:00:00Z', '2024-01-15T14:30:00', '2024-01-15 14:30', `${iso(now).slice(0, 19)}z`, `${iso(now)} `, iso(now).replace('T', 't'),
      String(now), now, null,
    ],
    properties: [
      undefined, {}, { path: '/chat', plan: 'pro' }, { path: '/x'.repeat(1024) }, { feature: 'search' }, { rating: 1 }, { rating: 5 }, { rating: 4.5 },
      { duration_ms: 0, status: 200 }, { duration_ms: 86_400_000, status: 599, route: '/r' }, { duration_seconds: 604_800 }, { duration_seconds: 0 },
      { list: [1, 'two', null, true, { three: 3 }], n: -0, big: 1e308, small: -1.2345678901234567e-6 }, { deep: nested(7) }, { ['k'.repeat(128)]: 1 },
      { 'a\ud83d\ude00': 'b\ud83d\ude00' }, propsOfLength(8_192), propsOfLength(8_192, '\u0001'), propsOfLength(8_192, '\n'),
      { path: '/x'.repeat(1025) }, { feature: '' }, { feature: 42 }, {}, { rating: 0 }, { rating: 6 }, { rating: '5' },
      { duration_ms: -1, status: 200 }, { duration_ms: 86_400_001, status: 200 }, { duration_ms: 5, status: 99 }, { duration_ms: 5, status: 200.5 }, { duration_ms: 5 },
      { duration_seconds: -1 }, { duration_seconds: 604_801 }, { deep: nested(8) }, { ['k'.repeat(129)]: 1 }, { a: { b: ['ok', 'x\u0000'] } }, { 'k\u0000': 1 },
      { 'k\ud800': 1 }, { v: 'a\udc00' }, { n: Infinity }, { n: -Infinity }, { n: NaN }, { f: () => 1 }, { u: undefined }, { b: 10n },
      propsOfLength(8_193), propsOfLength(8_193, '\u0001'), propsOfLength(8_193, '\n'), JSON.parse('{"__proto__": {"polluted": true}}'),
      [1, 2], [], null, 'props', 42, new Date(now),
    ],
    colour: [undefined, undefined, undefined, undefined, undefined, undefined, 'red'],
  };
}

function randomEvent(rnd: () => number, values: Record<string, readonly unknown[]>, validBias: number): Record<string, unknown> {
  const event: Record<string, unknown> = {};
  for (const [field, choices] of Object.entries(values)) {
    // Mostly the valid head of each list, so that whole valid events come up often.
    const head = Math.max(1, Math.ceil(choices.length / 3));
    const pick = rnd() < validBias ? Math.floor(rnd() * head) : Math.floor(rnd() * choices.length);
    const value = choices[pick];
    if (value !== undefined) event[field] = value;
  }
  return event;
}

describe('the fast path of a valid events body', () => {
  it('accepts only what the schema accepts, unchanged, and the schema decides everything else', () => {
    const rnd = random(20_240_115);
    const now = Date.now();
    const values = fieldValues(now);
    let fast = 0;
    let refused = 0;
    for (let i = 0; i < 4_000; i++) {
      const event = randomEvent(rnd, values, i % 2 === 0 ? 0.9 : 0.3);
      const r = schema.safeParse(event);
      if (accept(event)) {
        fast++;
        expect(r.success, show(event)).toBe(true);
        expect(r.data).toEqual(event);
      } else if (!r.success) {
        refused++;
      }
    }
    // Both sides were exercised, many times.
    expect(fast).toBeGreaterThan(300);
    expect(refused).toBeGreaterThan(1_000);
  });

  it('agrees with the schema on every value of every field in an otherwise valid event, for every event type', () => {
    const values = fieldValues(Date.now());
    const bases: Record<string, unknown>[] = [
      { type: 'checkout.done', user_id: 'u1', session_id: 's1', properties: { path: '/' } },
      ...(values['type'] as unknown[]).filter((t) => typeof t === 'string').map((type) => ({ type })),
    ];
    let fast = 0;
    let cases = 0;
    for (const base of bases) {
      for (const [field, choices] of Object.entries(values)) {
        for (const value of choices) {
          const event: Record<string, unknown> = { ...base };
          if (value === undefined) delete event[field];
          else event[field] = value;
          cases++;
          const r = schema.safeParse(event);
          if (accept(event)) {
            fast++;
            expect(r.success, show(event)).toBe(true);
            expect(r.data).toEqual(event);
          }
        }
      }
    }
    expect(cases).toBeGreaterThan(3_000);
    expect(fast).toBeGreaterThan(500);
  });

  it('answers every body as the zod schema alone does: same success, data and issues', () => {
    const rnd = random(7);
    const values = fieldValues(Date.now());
    const item = (): unknown => randomEvent(rnd, values, 0.92);
    const items = (n: number) => Array.from({ length: n }, item);
    const bodies: unknown[] = [null, 'event', 42, [], {}, { events: [] }, { events: 'x' }, { events: null }, items(MAX + 1), { events: items(MAX + 1) }];
    for (let i = 0; i < 1_500; i++) {
      const n = 1 + Math.floor(rnd() * MAX);
      const shape = Math.floor(rnd() * 5);
      bodies.push(shape === 0 ? item() : shape === 1 ? items(n) : shape === 2 ? { events: items(n) } : shape === 3 ? { events: items(n), extra: 1 } : { type: 'page_view', events: items(n) });
    }
    let ok = 0;
    for (const body of bodies) {
      const a = withFastPath.safeParse(body);
      const b = zodOnly.safeParse(body);
      expect(a.success, show(body)).toBe(b.success);
      if (a.success && b.success) {
        ok++;
        expect(a.data).toEqual(b.data);
      } else {
        expect(a.error?.issues).toEqual(b.error?.issues);
      }
    }
    expect(ok).toBeGreaterThan(200);
  });

  it('takes every valid event the service is usually sent without zod', () => {
    const now = Date.now();
    const valid = [
      { type: 'page_view', user_id: 'u1', session_id: 's1', properties: { path: '/chat' } },
      { type: 'session_start', user_id: 'u1', session_id: 's1', timestamp: iso(now - HOUR) },
      { type: 'session_end', user_id: 'u1', session_id: 's1', properties: { duration_seconds: 320 } },
      { type: 'feature_used', user_id: 'u1', properties: { feature: 'export' }, event_id: randomUUID() },
      { type: 'conversation_rated', user_id: 'u1', properties: { rating: 5 } },
      { type: 'request', properties: { duration_ms: 42.5, status: 200, route: '/api/chat' }, timestamp: withOffset(now, '+02:00') },
      { type: 'checkout.completed', user_id: 'u1', properties: { cart: { items: [{ sku: 'a', qty: 2 }], total: 19.99 }, coupon: null } },
    ];
    for (const event of valid) {
      expect(schema.safeParse(event).success).toBe(true);
      expect(accept(event), show(event)).toBe(true);
    }
    const batch = { events: valid.slice(0, MAX) };
    expect(withFastPath.safeParse(batch).data).toBe(batch.events);
  });

  it('refuses each class of bad properties, on the fast path and in the schema alike', () => {
    const check = jsonObject(8_192);
    const bad: unknown[] = [
      { deep: nested(8) }, [{ deep: nested(7) }], { ['k'.repeat(129)]: 1 }, { 'k\u0000': 1 }, { 'k\ud800': 1 }, { v: 'a\udc00' },
      { a: { b: ['ok', 'x\u0000'] } }, { n: Infinity }, { n: -Infinity }, { n: NaN }, { list: [1, NaN] }, { f: () => 1 }, { u: undefined },
      { b: 10n }, [1, 2], null, 'props', 42,
    ];
    for (const props of bad) {
      expect(isJsonObject(props, 8_192), show(props)).toBe(false);
      expect(check.safeParse(props).success, show(props)).toBe(false);
    }
    for (const props of [{ deep: nested(7) }, { ['k'.repeat(128)]: 1 }, { n: -0, m: 1e308 }, { list: [[[[[[[1]]]]]]] }]) {
      expect(isJsonObject(props, 8_192), show(props)).toBe(true);
      expect(check.safeParse(props).success, show(props)).toBe(true);
    }
  });

  it('measures properties exactly at the size limit, however their characters are escaped', () => {
    const check = jsonObject(8_192);
    for (const escaped of ['', '\u0001', '\n'] as const) {
      for (const length of [8_191, 8_192, 8_193]) {
        const props = propsOfLength(length, escaped);
        expect(isJsonObject(props, 8_192)).toBe(length <= 8_192);
        expect(check.safeParse(props).success).toBe(length <= 8_192);
      }
    }
    for (const shape of sizeShapes()) {
      for (const length of [8_192, 8_193]) {
        const props = padTo(shape, length);
        expect(isJsonObject(props, 8_192)).toBe(length <= 8_192);
        expect(accept({ type: 'checkout.done', properties: props })).toBe(length <= 8_192);
        expect(check.safeParse(props).success).toBe(length <= 8_192);
      }
    }
  });
});
