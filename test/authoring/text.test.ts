import { describe, expect, it } from 'vitest';
import { humanBytes, humanDuration, humanNumber, percent } from '../../src/authoring/index.js';

describe('text helpers', () => {
  it('percent: a ratio as people write it', () => {
    expect(percent(0.05)).toBe('5%');
    expect(percent(0.075)).toBe('7.5%');
    expect(percent(0.125)).toBe('12.5%');
    expect(percent(0.999)).toBe('99.9%');
    expect(percent(0.0001)).toBe('0.01%');
    expect(percent(1.5)).toBe('150%');
  });

  it('humanDuration: a Prometheus duration or seconds, in words', () => {
    expect(humanDuration('10m')).toBe('10 minutes');
    expect(humanDuration('1m')).toBe('1 minute');
    expect(humanDuration('1h')).toBe('1 hour');
    expect(humanDuration('90m')).toBe('1 hour and 30 minutes');
    expect(humanDuration('26h3m')).toBe('1 day, 2 hours and 3 minutes');
    expect(humanDuration('30d')).toBe('30 days');
    expect(humanDuration('2w')).toBe('2 weeks');
    expect(humanDuration('1y')).toBe('1 year');
    expect(humanDuration(2)).toBe('2 seconds');
    expect(humanDuration(2.5)).toBe('2.5 seconds');
    expect(humanDuration(0.25)).toBe('250 milliseconds');
    expect(humanDuration(1.5 * 3600)).toBe('1 hour and 30 minutes');
    expect(humanDuration('0s')).toBe('0 seconds');
    expect(() => humanDuration(-1)).toThrow(/0 or more/);
  });

  it('humanBytes: binary units', () => {
    expect(humanBytes(512)).toBe('512 B');
    expect(humanBytes(1536)).toBe('1.5 KiB');
    expect(humanBytes(1024 ** 3)).toBe('1 GiB');
    expect(humanBytes(5 * 1024 ** 4)).toBe('5 TiB');
  });

  it('humanNumber: grouped thousands, no float noise', () => {
    expect(humanNumber(10000)).toBe('10,000');
    expect(humanNumber(0.1 + 0.2)).toBe('0.3');
    expect(humanNumber(0.00123456)).toBe('0.00123');
    expect(humanNumber(2.345)).toBe('2.35');
    expect(() => humanNumber(Number.NaN)).toThrow(/finite/);
  });
});
