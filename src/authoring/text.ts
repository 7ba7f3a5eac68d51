import { type Duration, durationSeconds } from './types.js';

/**
 * Small formatters for the texts of alerts, so that a summary or description
 * can state an alert's effective threshold and `for` in words:
 * `` ({ threshold, for: f }) => `More than ${percent(threshold)} … for ${humanDuration(f)}.` ``.
 * They run when the rule file is compiled; Prometheus's own template
 * functions (`{{ $value | humanizePercentage }}`) still format the live value.
 */

function rounded(value: number): number {
  if (value === 0) return 0;
  // Two decimals for the numbers people say ("2.5", "99.95"), three significant digits below one ("0.0012").
  return Math.abs(value) >= 1 ? Number(value.toFixed(2)) : Number(value.toPrecision(3));
}

function finite(what: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${what} needs a finite number, got ${String(value)}`);
}

/** A number as a sentence states it: 10000 → "10,000", 0.125 → "0.125", 2.5 → "2.5". */
export function humanNumber(value: number): string {
  finite('humanNumber', value);
  const text = String(rounded(value));
  // JavaScript writes very large and very small numbers with an exponent; Intl writes every digit.
  if (text.includes('e')) return new Intl.NumberFormat('en-US', { maximumFractionDigits: 20 }).format(rounded(value));
  const [whole = '', fraction] = text.split('.');
  const sign = whole.startsWith('-') ? '-' : '';
  const digits = sign ? whole.slice(1) : whole;
  const grouped = digits.replace(/\B(?=(\d{3})+$)/g, ',');
  return `${sign}${grouped}${fraction === undefined ? '' : `.${fraction}`}`;
}

/** A ratio as a percentage: 0.05 → "5%", 0.125 → "12.5%", 0.999 → "99.9%". */
export function percent(ratio: number): string {
  finite('percent', ratio);
  return `${humanNumber(ratio * 100)}%`;
}

function plural(count: string, unit: string): string {
  return `${count} ${unit}${count === '1' ? '' : 's'}`;
}

const WHOLE_UNITS: readonly (readonly [string, number])[] = [
  ['day', 86_400],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];

/**
 * A duration in words: `'10m'` → "10 minutes", `'1h'` → "1 hour",
 * `'1h30m'` → "1 hour and 30 minutes", `'2w'` → "2 weeks". A number is seconds
 * (a latency threshold): 2 → "2 seconds", 0.25 → "250 milliseconds".
 */
export function humanDuration(duration: Duration | number): string {
  const seconds = typeof duration === 'number' ? duration : durationSeconds(duration);
  finite('humanDuration', seconds);
  if (seconds < 0) throw new Error(`humanDuration needs a duration of 0 or more, got ${seconds} seconds`);
  if (seconds === 0) return '0 seconds';
  if (seconds < 1) return plural(humanNumber(seconds * 1000), 'millisecond');
  if (seconds < 60 && !Number.isInteger(seconds)) return plural(humanNumber(seconds), 'second');
  // Years and weeks only when they are exact ("30d" stays "30 days", not "4 weeks and 2 days").
  for (const [unit, size] of [['year', 31_536_000], ['week', 604_800]] as const) {
    if (seconds % size === 0) return plural(String(seconds / size), unit);
  }
  let rest = Math.round(seconds);
  const parts: string[] = [];
  for (const [unit, size] of WHOLE_UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(plural(String(n), unit));
    rest -= n * size;
  }
  return parts.length <= 1 ? (parts[0] ?? '0 seconds') : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const;

/** A size in bytes with binary units, as Kubernetes and `humanize1024` write them: 1073741824 → "1 GiB", 1536 → "1.5 KiB". */
export function humanBytes(bytes: number): string {
  finite('humanBytes', bytes);
  if (bytes < 0) throw new Error(`humanBytes needs a size of 0 or more, got ${bytes}`);
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${humanNumber(value)} ${BYTE_UNITS[unit]}`;
}
