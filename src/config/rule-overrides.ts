import { z } from 'zod';

/** What an environment may change about one shipped alert, by its name. */
export const AlertOverride = z
  .strictObject({
    enabled: z.boolean().optional().describe('false drops the alert from this environment'),
    threshold: z.number().finite().optional().describe("replaces the alert's threshold (only alerts that have one)"),
    for: z
      .string()
      .regex(/^(\d+(ms|s|m|h|d|w|y))+$/, 'must be a Prometheus duration such as "5m"')
      .optional()
      .describe('how long the condition must hold before the alert fires'),
    severity: z.enum(['P1', 'P2', 'P3', 'P4']).optional().describe('P1 and P2 page, P3 notifies the team, P4 goes to the digest'),
  })
  .describe('changes to one alert; every field is optional');
export type AlertOverride = z.output<typeof AlertOverride>;

/** Per-environment changes to the shipped alerts, keyed by alert name (checked against the alerts that exist). */
export const AlertOverrides = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an alert name'), AlertOverride)
  .describe('changes to shipped alerts by alert name, e.g. { HighErrorRate: { threshold: 0.1, for: 15m } }');
export type AlertOverrides = z.output<typeof AlertOverrides>;
