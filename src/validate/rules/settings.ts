import type { CheckLevel } from '../check-report.js';
import { parseDuration } from './duration.js';

/** Which rules a setting applies to. */
export type RuleKind = 'alerting' | 'recording';

/** A label (rule/label) or annotation (alerts/annotation) a team requires, or whose value it constrains. */
export interface RequiredField {
  /** The field's name, a regular expression matched against the whole name. */
  readonly name: string;
  /** The whole value must match this regular expression when the field is set. */
  readonly value?: string;
  /** Every matching rule must set it. @default false */
  readonly required?: boolean;
  /** @default - alerting rules for annotations, both kinds for labels */
  readonly kind?: RuleKind;
  /** @default 'warning' */
  readonly level?: CheckLevel;
}

/** rule/name: names of alerts or recording rules must match `pattern`. */
export interface NamePattern {
  readonly pattern: string;
  readonly kind?: RuleKind;
  /** @default 'info' */
  readonly level?: CheckLevel;
}

/** rule/for: bounds of an alert's `for` or `keep_firing_for`. */
export interface DurationBounds {
  readonly min?: string;
  readonly max?: string;
  /** @default 'error' */
  readonly level?: CheckLevel;
}

/** promql/selector: selectors of metrics matching `metric` must filter on `requiredLabels`. */
export interface SelectorRequirement {
  readonly metric: string;
  readonly requiredLabels: readonly string[];
  /** Only selectors inside a call of a function matching this pattern. */
  readonly call?: string;
  readonly kind?: RuleKind;
  /** @default 'warning' */
  readonly level?: CheckLevel;
}

/** promql/aggregate: results of rules whose name matches `name` must keep or must strip labels. */
export interface AggregateRequirement {
  readonly name: string;
  readonly keep?: readonly string[];
  readonly strip?: readonly string[];
  readonly kind?: RuleKind;
  /** @default 'warning' */
  readonly level?: CheckLevel;
}

/** The `rules:` section of the checks' configuration file. */
export interface RuleCheckSettings {
  /** The scrape interval the range of rate(), irate() and increase() is held against (at least twice it). @default '30s' */
  readonly scrapeInterval?: string;
  readonly annotations?: readonly RequiredField[];
  readonly labels?: readonly RequiredField[];
  readonly names?: readonly NamePattern[];
  readonly for?: DurationBounds;
  readonly keepFiringFor?: DurationBounds;
  readonly selectors?: readonly SelectorRequirement[];
  readonly aggregate?: readonly AggregateRequirement[];
}

/** A setting that cannot be used; names the field. */
export class RuleSettingsError extends Error {
  readonly code = 'E_CHECK_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'CheckConfigError';
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function fields(raw: unknown, at: string, allowed: readonly string[]): Record<string, unknown> {
  if (!isRecord(raw)) throw new RuleSettingsError(`${at}: must be a map`);
  for (const k of Object.keys(raw)) if (!allowed.includes(k)) throw new RuleSettingsError(`${at}.${k}: unknown field (expected one of ${allowed.join(', ')})`);
  return raw;
}

function list(raw: unknown, at: string): unknown[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new RuleSettingsError(`${at}: must be a list`);
  return raw;
}

function regexp(raw: unknown, at: string, optional = false): string | undefined {
  if (raw === undefined && optional) return undefined;
  if (typeof raw !== 'string' || raw === '') throw new RuleSettingsError(`${at}: must be a regular expression`);
  try {
    new RegExp(`^(?:${raw})$`);
  } catch (e) {
    throw new RuleSettingsError(`${at}: ${JSON.stringify(raw)} is not a regular expression: ${(e as Error).message}`);
  }
  return raw;
}

function kind(raw: unknown, at: string): { kind?: RuleKind } {
  if (raw === undefined) return {};
  if (raw !== 'alerting' && raw !== 'recording') throw new RuleSettingsError(`${at}: must be alerting or recording, got ${JSON.stringify(raw)}`);
  return { kind: raw };
}

function level(raw: unknown, at: string): { level?: CheckLevel } {
  if (raw === undefined) return {};
  if (raw !== 'error' && raw !== 'warning' && raw !== 'info') throw new RuleSettingsError(`${at}: must be error, warning or info, got ${JSON.stringify(raw)}`);
  return { level: raw };
}

function duration(raw: unknown, at: string): string | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw);
  if (parseDuration(text) === undefined) throw new RuleSettingsError(`${at}: must be a Prometheus duration such as 5m, got ${JSON.stringify(raw)}`);
  return text;
}

function names(raw: unknown, at: string): string[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw) || raw.some((n) => typeof n !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(n))) throw new RuleSettingsError(`${at}: must be a list of label names`);
  return raw as string[];
}

function requiredFields(raw: unknown, at: string): RequiredField[] {
  return list(raw, at).map((e, i) => {
    const w = `${at}[${i}]`;
    const f = fields(e, w, ['name', 'value', 'required', 'kind', 'level']);
    if (f['required'] !== undefined && typeof f['required'] !== 'boolean') throw new RuleSettingsError(`${w}.required: must be true or false`);
    const value = regexp(f['value'], `${w}.value`, true);
    return {
      name: regexp(f['name'], `${w}.name`)!,
      ...(value !== undefined ? { value } : {}),
      ...(f['required'] !== undefined ? { required: f['required'] as boolean } : {}),
      ...kind(f['kind'], `${w}.kind`),
      ...level(f['level'], `${w}.level`),
    };
  });
}

function bounds(raw: unknown, at: string): DurationBounds | undefined {
  if (raw === undefined) return undefined;
  const f = fields(raw, at, ['min', 'max', 'level']);
  const min = duration(f['min'], `${at}.min`);
  const max = duration(f['max'], `${at}.max`);
  return { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}), ...level(f['level'], `${at}.level`) };
}

/** Checks the `rules:` section of the configuration file; `at` is its path for messages. */
export function parseRuleCheckSettings(raw: unknown, at: string): RuleCheckSettings {
  const f = fields(raw ?? {}, at, ['scrapeInterval', 'annotations', 'labels', 'names', 'for', 'keepFiringFor', 'selectors', 'aggregate']);
  const scrapeInterval = duration(f['scrapeInterval'], `${at}.scrapeInterval`);
  const forBounds = bounds(f['for'], `${at}.for`);
  const keepBounds = bounds(f['keepFiringFor'], `${at}.keepFiringFor`);
  return {
    ...(scrapeInterval !== undefined ? { scrapeInterval } : {}),
    annotations: requiredFields(f['annotations'], `${at}.annotations`),
    labels: requiredFields(f['labels'], `${at}.labels`),
    names: list(f['names'], `${at}.names`).map((e, i) => {
      const w = `${at}.names[${i}]`;
      const n = fields(e, w, ['pattern', 'kind', 'level']);
      return { pattern: regexp(n['pattern'], `${w}.pattern`)!, ...kind(n['kind'], `${w}.kind`), ...level(n['level'], `${w}.level`) };
    }),
    ...(forBounds ? { for: forBounds } : {}),
    ...(keepBounds ? { keepFiringFor: keepBounds } : {}),
    selectors: list(f['selectors'], `${at}.selectors`).map((e, i) => {
      const w = `${at}.selectors[${i}]`;
      const s = fields(e, w, ['metric', 'requiredLabels', 'call', 'kind', 'level']);
      const call = regexp(s['call'], `${w}.call`, true);
      const required = names(s['requiredLabels'], `${w}.requiredLabels`);
      if (!required || required.length === 0) throw new RuleSettingsError(`${w}.requiredLabels: must list at least one label name`);
      return { metric: regexp(s['metric'], `${w}.metric`)!, requiredLabels: required, ...(call !== undefined ? { call } : {}), ...kind(s['kind'], `${w}.kind`), ...level(s['level'], `${w}.level`) };
    }),
    aggregate: list(f['aggregate'], `${at}.aggregate`).map((e, i) => {
      const w = `${at}.aggregate[${i}]`;
      const a = fields(e, w, ['name', 'keep', 'strip', 'kind', 'level']);
      const keep = names(a['keep'], `${w}.keep`);
      const strip = names(a['strip'], `${w}.strip`);
      if (!keep?.length && !strip?.length) throw new RuleSettingsError(`${w}: needs keep or strip`);
      return { name: regexp(a['name'], `${w}.name`)!, ...(keep ? { keep } : {}), ...(strip ? { strip } : {}), ...kind(a['kind'], `${w}.kind`), ...level(a['level'], `${w}.level`) };
    }),
  };
}
