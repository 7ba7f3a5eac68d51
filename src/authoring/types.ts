export type { Environment } from '../config/index.js';

/** The closed set of severities. P1 and P2 page; P3 notifies the team; P4 goes to the digest. */
export type Severity = 'P1' | 'P2' | 'P3' | 'P4';

type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd' | 'w' | 'y';
/** A Prometheus duration such as `5m` or `1h`; a bare number is not a duration. */
export type Duration = `${number}${DurationUnit}`;

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

export function isDuration(value: string): value is Duration {
  return DURATION.test(value);
}
