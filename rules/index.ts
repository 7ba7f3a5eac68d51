import { compileRuleFile, type Environment } from '../src/authoring/index.js';
import { stackRules } from './stack.js';

/** The rule files the stack ships, by file name, as mounted into Prometheus. */
export function stackRuleFiles(env: Environment): Record<string, string> {
  return { 'stack.yaml': compileRuleFile(stackRules(env)) };
}
