import type { RuleFileRule } from '../../authoring/index.js';
import type { CheckLevel } from '../check-report.js';
import type { MetricType } from '../metric-catalog.js';
import type { PromNode } from './promql-ast.js';
import type { RuleCheckSettings, RuleKind } from './settings.js';

/** A recording rule of the linted files, by the series it records. */
export interface RecordedSeries {
  readonly file: string;
  readonly ast?: PromNode;
  readonly expr: string;
}

/** What every check of one rule sees. */
export interface RuleContext {
  readonly kind: RuleKind;
  readonly name: string;
  readonly rule: RuleFileRule;
  /** The parsed expression; undefined when it does not parse. */
  readonly ast?: PromNode;
  readonly settings: RuleCheckSettings;
  /** The type of a metric from metadata (a catalog or a `# TYPE` dump), and where it was read; never guessed from the name. */
  readonly metricType: (metric: string) => { type: MetricType; source: string } | undefined;
  /** Series recorded by the linted files. */
  readonly recorded: ReadonlyMap<string, readonly RecordedSeries[]>;
  /** Seconds between scrapes the range of rate() is held against. */
  readonly scrapeInterval: number;
  report(check: string, level: CheckLevel, message: string, policy?: boolean): void;
}

/** Whether a setting limited to one kind of rule applies to this rule. */
export function appliesTo(setting: { readonly kind?: RuleKind }, ctx: RuleContext): boolean {
  return setting.kind === undefined || setting.kind === ctx.kind;
}

/** A pattern of the configuration file, matched against a whole name. */
export function fullMatch(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}
