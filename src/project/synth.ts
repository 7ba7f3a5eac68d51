import type { Environment } from '../config/index.js';
import { checkSynthesized } from '../cli/check.js';
import { type SynthesizedEnvironment, synthesizeEnvironment } from '../cli/synthesize.js';
import { writeEnvironments } from '../cli/write.js';
import { environmentContent, type ProjectContent, withStackContent } from './content.js';
import { teamFolderOf } from './teams.js';

/** One environment synthesized in memory with the stack's content and a project's, and what the checks found. */
export interface EnvironmentSynthesis {
  readonly result: SynthesizedEnvironment;
  /** Findings of the checks, one printable line each; empty when the output may be applied. */
  readonly findings: readonly string[];
}

export interface SynthEnvironmentOptions {
  /** A project's rule areas, dashboards and metric catalog entries, added to the stack's. @default - the stack's alone */
  readonly content?: Partial<ProjectContent>;
  /** Also run promtool and amtool (slower; needs the binaries). @default false */
  readonly tools?: boolean;
}

/** Synthesizes one environment in memory and runs the checks on it; nothing is written. */
export function synthEnvironment(env: Environment, opts: SynthEnvironmentOptions = {}): EnvironmentSynthesis {
  return synthWith(env, withStackContent(opts.content), opts.tools ?? false);
}

function synthWith(env: Environment, content: ProjectContent, tools: boolean): EnvironmentSynthesis {
  const built = environmentContent(env, content, teamFolderOf(env, content));
  const result = synthesizeEnvironment(env, { ruleFiles: built.ruleFiles, dashboards: built.dashboards, catalog: built.catalog, runbookContent: built.runbookContent });
  return { result, findings: checkSynthesized(result, { tools }) };
}

export interface SynthOptions extends SynthEnvironmentOptions {
  readonly environments: readonly Environment[];
  /** Write `<out>/<env>/` for every environment when all pass their checks. @default - nothing is written */
  readonly out?: string;
}

export interface SynthReport {
  readonly environments: readonly EnvironmentSynthesis[];
  /** Whether every environment passed its checks (and, with `out`, was written). */
  readonly ok: boolean;
  /** The folders written, one per environment; empty when any environment had findings. */
  readonly written: readonly string[];
}

/**
 * Synthesizes environments with the stack's content and a project's, checks
 * each, and writes them all to `out` only when every one passes: a refused
 * synth leaves `out` as it was.
 */
export function synth(opts: SynthOptions): SynthReport {
  const content = withStackContent(opts.content);
  const environments = opts.environments.map((env) => synthWith(env, content, opts.tools ?? false));
  const ok = environments.every((e) => e.findings.length === 0);
  const written = ok && opts.out !== undefined ? writeEnvironments(opts.out, new Map(environments.map((e) => [e.result.environment.name, e.result.files]))) : [];
  return { environments, ok, written };
}
