/** Prometheus's duration grammar: units from largest to smallest, each at most once, or a bare `0`. */
const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNIT_SECONDS = [31_536_000, 604_800, 86_400, 3600, 60, 1, 0.001] as const;

/** Seconds in a duration as Prometheus reads it (`for`, `keep_firing_for`, a range), or undefined when it would refuse it. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (text === '') return undefined;
  const m = DURATION.exec(text);
  if (!m) return undefined;
  let seconds = 0;
  for (let i = 0; i < UNIT_SECONDS.length; i++) if (m[i + 1] !== undefined) seconds += Number(m[i + 1]) * UNIT_SECONDS[i]!;
  return seconds;
}

/** A number of seconds written as the shortest duration (`90` → `1m30s`). */
export function formatSeconds(seconds: number): string {
  if (seconds === 0) return '0s';
  let rest = Math.round(seconds * 1000);
  let out = '';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
