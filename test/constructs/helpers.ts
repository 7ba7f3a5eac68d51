import { parseEnvironment, type Environment, type EnvironmentInput } from '../../src/config/index.js';
import { type SynthesizedEnvironment, type KubernetesObject, synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { loadEnvironmentFile } from '../../src/config/index.js';
import { join } from 'node:path';

export const RECEIVERS_INPUT = {
  pagerduty: { routingKey: { secretName: 'am-pagerduty', key: 'routing-key' } },
  slack: { channel: '#alerts', apiUrl: { secretName: 'am-slack', key: 'url' } },
} as const;

/** A valid environment from a partial input merged over the defaults. */
export function environment(input: Partial<Record<keyof EnvironmentInput, unknown>> = {}): Environment {
  return parseEnvironment({ name: 'test', namespace: 'obs-test', alerting: { receivers: RECEIVERS_INPUT }, ...input }, '<test>');
}

export function example(name: 'dev' | 'staging' | 'prod'): Environment {
  return loadEnvironmentFile(join(import.meta.dirname, '..', '..', 'examples', 'environments', `${name}.yaml`));
}

export function synth(env: Environment): SynthesizedEnvironment {
  return synthesizeEnvironment(env, { ruleFiles: { 'stack.yaml': 'groups: []\n' } });
}

export function find(objects: readonly KubernetesObject[], kind: string, name: string): KubernetesObject {
  const obj = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!obj) throw new Error(`no ${kind}/${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return obj;
}

// biome-ignore lint: test helper reaching into plain objects
export type Json = any;
