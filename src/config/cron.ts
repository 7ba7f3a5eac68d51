/**
 * Five-field cron schedules (minute hour day-of-month month day-of-week), as
 * a Kubernetes CronJob reads them: numbers, names (JAN, MON), `*`, ranges,
 * lists and steps. Parsed here so that an environment file is refused before
 * anything runs, so that the alerts know the longest wait between two runs,
 * and so that Elasticsearch gets the same schedule in its own cron syntax.
 */

interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const FIELDS: readonly Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  // 0 and 7 are both Sunday.
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

const MACROS: Readonly<Record<string, string>> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

/** A parsed schedule: the values each field matches, and whether the day fields were restricted. */
export interface ParsedCron {
  readonly source: string;
  /** The five fields as written (macros expanded). */
  readonly fields: readonly [string, string, string, string, string];
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0–6, Sunday 0. */
  readonly daysOfWeek: ReadonlySet<number>;
  readonly domRestricted: boolean;
  readonly dowRestricted: boolean;
}

function value(text: string, field: Field): number {
  const i = field.names?.indexOf(text.toUpperCase()) ?? -1;
  const n = i >= 0 ? i + (field.name === 'month' ? 1 : 0) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < field.min || n > field.max) {
    throw new Error(`${field.name} "${text}" is not a value from ${field.min} to ${field.max}${field.names ? ` or a name (${field.names[0]}…)` : ''}`);
  }
  return n;
}

function parseField(text: string, field: Field): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new Error(`${field.name} "${text}" is not a cron field`);
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1) throw new Error(`${field.name} "${text}": a step must be at least 1`);
    const range = m[1] ?? '';
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = field.min;
      hi = field.max;
    } else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      lo = value(a, field);
      hi = value(b, field);
      if (hi < lo) throw new Error(`${field.name} "${text}": the range ${range} runs backwards`);
    } else {
      lo = value(range, field);
      hi = m[2] === undefined ? lo : field.max;
    }
    for (let v = lo; v <= hi; v += step) out.add(field.name === 'day of week' ? v % 7 : v);
  }
  return out;
}

/** Parses a five-field schedule (or a macro such as `@daily`); throws with the field at fault. */
export function parseCron(source: string): ParsedCron {
  const text = MACROS[source.trim()] ?? source.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5) {
    throw new Error(`must have five fields (minute hour day-of-month month day-of-week), such as "30 2 * * *"; got ${parts.length}`);
  }
  const [mi, h, dom, mon, dow] = parts.map((p, i) => parseField(p, FIELDS[i] as Field)) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  return {
    source,
    fields: parts as [string, string, string, string, string],
    minutes: mi,
    hours: h,
    daysOfMonth: dom,
    months: mon,
    daysOfWeek: dow,
    domRestricted: !(parts[2] ?? '').startsWith('*'),
    dowRestricted: !(parts[4] ?? '').startsWith('*'),
  };
}

/** Why a schedule is refused, or undefined when it is fine. */
export function cronProblem(source: string): string | undefined {
  try {
    longestGapSeconds(parseCron(source));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const DAY = 86_400;

/**
 * The longest time between two consecutive runs, in seconds, over eight years
 * (so that a schedule on 29 February is measured too). Cron's rule applies:
 * when both day fields are restricted, a day matching either runs.
 */
export function longestGapSeconds(s: ParsedCron): number {
  const minutes = [...s.hours].flatMap((h) => [...s.minutes].map((m) => h * 60 + m)).sort((a, b) => a - b);
  let inner = 0;
  for (let i = 1; i < minutes.length; i++) inner = Math.max(inner, (minutes[i] ?? 0) - (minutes[i - 1] ?? 0));
  const first = minutes[0] ?? 0;
  const last = minutes[minutes.length - 1] ?? 0;
  const start = Date.UTC(2024, 0, 1) / 1000;
  let previous: number | undefined;
  let gap = inner * 60;
  for (let d = 0; d < 8 * 366; d++) {
    const t = start + d * DAY;
    const date = new Date(t * 1000);
    if (!s.months.has(date.getUTCMonth() + 1)) continue;
    const domOk = s.daysOfMonth.has(date.getUTCDate());
    const dowOk = s.daysOfWeek.has(date.getUTCDay());
    const runs = s.domRestricted && s.dowRestricted ? domOk || dowOk : domOk && dowOk;
    if (!runs) continue;
    if (previous !== undefined) gap = Math.max(gap, t + first * 60 - previous);
    previous = t + last * 60;
  }
  if (previous === undefined) throw new Error(`"${s.source}" never runs (no such day)`);
  if (gap === 0) throw new Error(`"${s.source}" runs only once in eight years`);
  return gap;
}

/** The longest time between two runs of a schedule, in seconds. */
export function scheduleIntervalSeconds(source: string): number {
  return longestGapSeconds(parseCron(source));
}

const DOW_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/**
 * The same schedule in Elasticsearch's cron syntax (seconds first, `?` in one
 * of the day fields, days of the week by name). Elasticsearch cannot say "this
 * day of the month or this weekday", so a schedule restricting both is refused.
 */
export function elasticsearchCron(source: string): string {
  const s = parseCron(source);
  const [mi, h, dom, mon, dow] = s.fields;
  if (s.domRestricted && s.dowRestricted) {
    throw new Error(`"${source}" restricts both the day of the month and the day of the week, which Elasticsearch cannot schedule; keep one of them "*"`);
  }
  let weekday = '?';
  let monthDay = dom;
  if (s.dowRestricted) {
    monthDay = '?';
    weekday = [...s.daysOfWeek].sort((a, b) => a - b).map((d) => DOW_NAMES[d]).join(',');
  }
  return `0 ${mi} ${h} ${monthDay} ${mon} ${weekday}`;
}
