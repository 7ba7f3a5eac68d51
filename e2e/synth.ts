import { join } from 'node:path';
import { loadEnvironments } from '../src/cli/load-environments.js';
import type { Environment } from '../src/config/index.js';
import { contentReferences, synth, withStackContent } from '../src/project/index.js';

/** The e2e environment synthesized as `obstack synth` does it: the shipped rules and dashboards, checked, then written. */
export interface E2eSynth {
  readonly environment: Environment;
  /** Logical path (`prometheus.yml`, `rules/slos.yaml`, `runbooks/…`) → content. */
  readonly files: ReadonlyMap<string, string>;
  /** The folder holding `<env>/` and `<env>.files/`. */
  readonly out: string;
  readonly filesDir: string;
}

/** Loads the environment file, synthesizes it in-process with the stack's content and writes it under `out`. */
export function synthesizeE2e(envFile: string, out: string): E2eSynth {
  const content = withStackContent();
  const [environment] = loadEnvironments([envFile], (env) => contentReferences(env, content));
  if (!environment) throw new Error(`${envFile}: no environment`);
  const report = synth({ environments: [environment], out });
  const one = report.environments[0];
  if (!report.ok || !one) throw new Error(`the synth of ${environment.name} was refused:\n  ${(one?.findings ?? []).join('\n  ')}`);
  return { environment, files: one.result.files, out, filesDir: join(out, `${environment.name}.files`) };
}
