import { appliesTo, fullMatch, type RuleContext } from './context.js';
import { parseDuration } from './duration.js';
import { labelsOf, mayHave } from './labels.js';
import type { RequiredField } from './settings.js';

/** alerts/for: `for` or `keep_firing_for` of zero is the default; the line can go. (An unreadable duration is a structural error.) */
export function checkAlertFor(ctx: RuleContext): void {
  if (ctx.kind !== 'alerting') return;
  for (const [field, value] of [
    ['for', ctx.rule.for],
    ['keep_firing_for', ctx.rule.keep_firing_for],
  ] as const) {
    if (value !== undefined && parseDuration(value) === 0) ctx.report('alerts/for', 'info', `"${field}: ${value}" is the default; the line can go`);
  }
}

/** Variables Prometheus defines for every alert template. */
const TEMPLATE_VARIABLES = new Set(['labels', 'value', 'externalLabels', 'externalURL']);

interface TemplateUse {
  readonly labels: readonly string[];
  readonly usesValue: boolean;
  readonly errors: readonly string[];
}

const templates = new Map<string, TemplateUse>();

/** What an alert template reads: `$labels.x` and `index $labels "x"`, `$value`; and what Go's template parser would refuse. */
export function readTemplate(text: string): TemplateUse {
  const known = templates.get(text);
  if (known) return known;
  const use = readUncached(text);
  if (templates.size >= 4096) templates.clear();
  templates.set(text, use);
  return use;
}

function readUncached(text: string): TemplateUse {
  const errors: string[] = [];
  const labels: string[] = [];
  let usesValue = false;
  const actions: string[] = [];
  let at = 0;
  for (;;) {
    const open = text.indexOf('{{', at);
    if (open < 0) break;
    const close = text.indexOf('}}', open + 2);
    if (close < 0) {
      errors.push(`"{{" at offset ${open} is never closed`);
      break;
    }
    actions.push(text.slice(open + 2, close).replace(/^-\s|\s-$/g, ''));
    at = close + 2;
  }
  const declared = new Set(TEMPLATE_VARIABLES);
  const bodies = actions.map((a) => a.replace(/^\s*\/\*[\s\S]*?\*\/\s*$/, '').replace(/"(?:[^"\\]|\\.)*"|`[^`]*`/g, (s) => (s.includes('$') ? '""' : s)));
  for (const body of bodies) for (const m of body.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)\s*(?:,\s*\$([A-Za-z_][A-Za-z0-9_]*)\s*)?:=/g)) for (const v of [m[1], m[2]]) if (v) declared.add(v);
  for (const [i, body] of bodies.entries()) {
    for (const m of body.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)) {
      if (!declared.has(m[1]!)) errors.push(`undefined variable "$${m[1]}"`);
      if (m[1] === 'value') usesValue = true;
    }
    if (/(^|[^\w$])\.Value\b/.test(body)) usesValue = true;
    for (const m of body.matchAll(/\$labels\.([A-Za-z_][A-Za-z0-9_]*)/g)) labels.push(m[1]!);
    for (const m of (actions[i] ?? '').matchAll(/index\s+\$labels\s+"([^"]+)"/g)) labels.push(m[1]!);
  }
  return { labels: [...new Set(labels)], usesValue, errors: [...new Set(errors)] };
}

/**
 * alerts/template: templates Prometheus cannot parse, labels a template
 * reads that the query's result never has (they render empty), and `$value`
 * in a label (each new value makes a new alert).
 */
export function checkTemplates(ctx: RuleContext): void {
  if (ctx.kind !== 'alerting') return;
  const result = ctx.ast ? labelsOf(ctx.ast) : undefined;
  for (const [field, map] of [
    ['labels', ctx.rule.labels],
    ['annotations', ctx.rule.annotations],
  ] as const) {
    for (const [key, value] of Object.entries(map ?? {})) {
      if (!value.includes('{{')) continue;
      const use = readTemplate(value);
      for (const e of use.errors) ctx.report('alerts/template', 'error', `${field}.${key}: the template does not parse: ${e}`);
      if (field === 'labels' && use.usesValue) {
        ctx.report('alerts/template', 'warning', `labels.${key} uses the query's value: every new value makes a new alert, so it never stays firing for its "for"; put the value in an annotation`);
      }
      if (!result) continue;
      const missing = use.labels.filter((l) => !mayHave(result, l));
      if (missing.length > 0) {
        ctx.report(
          'alerts/template',
          'warning',
          `${field}.${key} reads ${missing.map((m) => `$labels.${m}`).join(', ')}, but the query's result ${result.fixed ? `only has ${result.names.size > 0 ? [...result.names].join(', ') : 'no labels'}` : `drops ${missing.join(', ')}`}: ${missing.length === 1 ? 'it renders' : 'they render'} empty`,
        );
      }
    }
  }
}

function checkFields(ctx: RuleContext, field: 'labels' | 'annotations', reqs: readonly RequiredField[], check: string, policy: boolean): void {
  const map = (field === 'labels' ? ctx.rule.labels : ctx.rule.annotations) ?? {};
  for (const req of reqs) {
    if (!appliesTo(req, ctx) || (field === 'annotations' && ctx.kind !== 'alerting')) continue;
    const name = fullMatch(req.name);
    const present = Object.keys(map).filter((k) => name.test(k));
    const level = req.level ?? 'warning';
    if (req.required && present.length === 0) ctx.report(check, level, `has no ${field === 'labels' ? 'label' : 'annotation'} ${req.name}${req.value ? ` (matching ${req.value})` : ''}, which the configuration requires`, policy);
    if (req.value === undefined) continue;
    const value = fullMatch(req.value);
    for (const k of present) if (!value.test(map[k] ?? '')) ctx.report(check, level, `${field}.${k} is "${map[k]}", which does not match ${req.value}`, policy);
  }
}

const STACK_SEVERITIES = /^P[1-4]$/;

/**
 * House policy: what a responder needs on every alert. The `stack` profile
 * (our own rules) requires severity P1–P4, service, summary, description and
 * runbook_url; the `external` profile (a team's files) a severity, a runbook
 * and some text. Then the requirements of the configuration file.
 */
export function checkRequired(ctx: RuleContext, profile: 'stack' | 'external'): void {
  if (ctx.kind === 'alerting') {
    const labels = ctx.rule.labels ?? {};
    const annotations = ctx.rule.annotations ?? {};
    const level = profile === 'stack' ? 'error' : 'warning';
    const severity = labels['severity'];
    if (severity === undefined || severity === '') ctx.report('rule/label', level, 'has no severity label', true);
    else if (profile === 'stack' && !STACK_SEVERITIES.test(severity)) ctx.report('rule/label', level, `severity "${severity}" is not one of P1, P2, P3, P4`, true);
    if (profile === 'stack') {
      if (!labels['service']) ctx.report('rule/label', level, 'has no service label (inhibition matches on alertname and service)', true);
      for (const a of ['summary', 'description', 'runbook_url']) if (!annotations[a]) ctx.report('alerts/annotation', level, `has no ${a} annotation`, true);
    } else {
      if (!annotations['runbook_url']) ctx.report('alerts/annotation', level, 'has no runbook_url annotation', true);
      if (!annotations['summary'] && !annotations['description'] && !annotations['message']) ctx.report('alerts/annotation', level, 'has no summary, description or message annotation', true);
    }
  }
  checkFields(ctx, 'labels', ctx.settings.labels ?? [], 'rule/label', true);
  checkFields(ctx, 'annotations', ctx.settings.annotations ?? [], 'alerts/annotation', true);
}

/** rule/name (configured): alert and recording rule names follow a pattern. */
export function checkName(ctx: RuleContext): void {
  for (const n of ctx.settings.names ?? []) {
    if (!appliesTo(n, ctx)) continue;
    if (!fullMatch(n.pattern).test(ctx.name)) ctx.report('rule/name', n.level ?? 'info', `the name ${ctx.name} does not match ${n.pattern}, which the configuration requires of ${ctx.kind} rules`, true);
  }
}

/** rule/for (configured): `for` and `keep_firing_for` within bounds. */
export function checkForBounds(ctx: RuleContext): void {
  if (ctx.kind !== 'alerting') return;
  for (const [field, bounds, value] of [
    ['for', ctx.settings.for, ctx.rule.for],
    ['keep_firing_for', ctx.settings.keepFiringFor, ctx.rule.keep_firing_for],
  ] as const) {
    if (!bounds) continue;
    const seconds = value === undefined ? 0 : parseDuration(value);
    if (seconds === undefined) continue;
    const shown = value ?? '0s (not set)';
    if (bounds.min !== undefined && seconds < parseDuration(bounds.min)!) ctx.report('rule/for', bounds.level ?? 'error', `${field} is ${shown}, below the minimum of ${bounds.min} the configuration sets`, true);
    if (bounds.max !== undefined && seconds > parseDuration(bounds.max)!) ctx.report('rule/for', bounds.level ?? 'error', `${field} is ${shown}, above the maximum of ${bounds.max} the configuration sets`, true);
  }
}
