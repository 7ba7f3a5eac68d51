export type { Environment } from '../config/index.js';

/** The closed set of severities. P1 and P2 page; P3 notifies the team; P4 goes to the digest. */
export type Severity = 'P1' | 'P2' | 'P3' | 'P4';
export const SEVERITIES: readonly Severity[] = ['P1', 'P2', 'P3', 'P4'];

export function isSeverity(value: unknown): value is Severity {
  return typeof value === 'string' && (SEVERITIES as readonly string[]).includes(value);
}

type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd' | 'w' | 'y';
/** A Prometheus duration such as `5m` or `1h`; a bare number is not a duration. */
export type Duration = `${number}${DurationUnit}` | `${number}${DurationUnit}${number}${DurationUnit}` | '0';

// `0` alone is a duration too: Prometheus reads `for: 0` as no wait.
const DURATION = /^(0|(\d+(ms|s|m|h|d|w|y))+)$/;
const UNIT_SECONDS: Readonly<Record<DurationUnit, number>> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
  w: 604_800,
  y: 31_536_000,
};

export function isDuration(value: string): value is Duration {
  return DURATION.test(value);
}

/** Seconds in a Prometheus duration (`1h30m` → 5400). */
export function durationSeconds(value: Duration): number {
  if (!isDuration(value)) throw new Error(`not a Prometheus duration: "${value}"`);
  let total = 0;
  for (const m of value.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * UNIT_SECONDS[m[2] as DurationUnit];
  return total;
}

/** The shortest Prometheus duration for a number of seconds (5400 → `1h30m`). */
export function formatDuration(seconds: number): Duration {
  if (!Number.isFinite(seconds) || seconds < 0) throw new Error(`cannot format ${seconds} seconds as a duration`);
  if (seconds === 0) return '0s';
  let rest = Math.round(seconds * 1000);
  let out = '';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out as Duration;
}

type Lower = 'a' | 'b' | 'c' | 'd' | 'e' | 'f' | 'g' | 'h' | 'i' | 'j' | 'k' | 'l' | 'm' | 'n' | 'o' | 'p' | 'q' | 'r' | 's' | 't' | 'u' | 'v' | 'w' | 'x' | 'y' | 'z';
type NameStart = Lower | Uppercase<Lower> | '_';
type NameChar = NameStart | '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9';
type RestIsName<S extends string> = S extends '' ? true : S extends `${infer C}${infer R}` ? (C extends NameChar ? RestIsName<R> : false) : false;
/** `true` when S is a valid Prometheus label name that is not reserved (no leading `__`). */
export type IsLabelName<S extends string> = string extends S
  ? true
  : S extends `__${string}`
    ? false
    : S extends `${infer C}${infer R}`
      ? C extends NameStart
        ? RestIsName<R>
        : false
      : false;

/**
 * Labels or annotations whose names the compiler checks: a key such as
 * `"team-name"` or `"__x"` turns its value type into `never`, a compile error.
 */
export type CheckedNames<L> = { readonly [K in keyof L]: K extends string ? (IsLabelName<K> extends true ? string : never) : never };

export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
