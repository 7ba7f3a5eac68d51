import { RuleError, type RuleGroup } from './rules.js';

/**
 * What a responder needs to know about an alert beyond its expression and
 * texts: written once per alert (or per area), rendered into the alert's
 * runbook page. Texts are Markdown.
 */
export interface RunbookContent {
  /** What is broken for users or for the stack while the alert fires. */
  readonly impact: string;
  /** The usual reasons, most likely first. */
  readonly causes: readonly string[];
  /** What to look at first, besides the alert's own PromQL and dashboard (which every page shows). @default - none */
  readonly checks?: readonly string[];
}

/** Whether a value is runbook content rather than a runbook URL. */
export function isRunbookContent(value: unknown): value is RunbookContent {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'impact' in value;
}

/** Refuses runbook content with an empty impact, no cause or an empty cause or check; names the alert and the field. */
export function checkRunbookContent(alert: string, content: RunbookContent): RunbookContent {
  if (typeof content.impact !== 'string' || content.impact.trim() === '') throw new RuleError(alert, 'runbook.impact', 'must not be empty');
  if (!Array.isArray(content.causes) || content.causes.length === 0) throw new RuleError(alert, 'runbook.causes', 'must list at least one likely cause');
  for (const field of ['causes', 'checks'] as const) {
    const list: unknown = content[field];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new RuleError(alert, `runbook.${field}`, 'must be a list of texts');
    list.forEach((item: unknown, i) => {
      if (typeof item !== 'string' || item.trim() === '') throw new RuleError(alert, `runbook.${field}[${i}]`, 'must be a text that is not empty');
    });
  }
  return content;
}

/**
 * The file name of an alert's runbook page: its name in lower-case kebab case
 * (`NodeMemoryHigh` → `node-memory-high.md`, `AIServiceDown` → `ai-service-down.md`).
 * It is part of every runbook link, so it does not change.
 */
export function runbookPageName(alert: string): string {
  const kebab = alert
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .toLowerCase();
  return `${kebab === '' ? 'alert' : kebab}.md`;
}

/** The link to an alert's generated page under a runbook base (`<base>/<page>`). */
export function runbookPageUrl(base: string, alert: string): string {
  return `${base.replace(/\/+$/, '')}/${runbookPageName(alert)}`;
}

/** The runbook content alert definitions carry, by alert name (the first definition of a name wins). */
export function ownRunbookContent(groups: Iterable<RuleGroup>): Map<string, RunbookContent> {
  const out = new Map<string, RunbookContent>();
  for (const g of groups) {
    for (const r of g.rules) if (r.kind === 'alert' && r.runbook !== undefined && !out.has(r.name)) out.set(r.name, r.runbook);
  }
  return out;
}
