import { areaGroups, compileRuleTests, type Environment, type RuleArea, testCoverage } from '../authoring/index.js';
import { runRuleTests } from '../validate/index.js';

export interface RuleTestReport {
  /** promtool cases run. */
  readonly cases: number;
  /** Whether promtool passed every case. */
  readonly ok: boolean;
  /** promtool's output. */
  readonly output: string;
  /** Alerts without a case that fires, or without one that stays silent. */
  readonly missing: readonly string[];
}

/**
 * Runs the promtool cases written next to the alerts of some rule areas, as
 * written (before the environment's overrides), with one `promtool test rules`,
 * and lists the alerts that lack a firing or a silent case.
 */
export function testRuleAreas(env: Environment, areas: readonly RuleArea[]): RuleTestReport {
  const files = Object.fromEntries(areas.map((a) => [`${a.name}.yaml`, areaGroups(a, env)]));
  const missing: string[] = [];
  for (const [name, c] of testCoverage(Object.values(files).flat())) {
    if (c.fires === 0) missing.push(`${name}: no case that fires (firesWhen)`);
    if (c.silent === 0 && name !== 'Watchdog') missing.push(`${name}: no case that stays silent (silentWhen)`);
  }
  const compiled = compileRuleTests(files);
  const result = runRuleTests(compiled);
  return { cases: compiled.cases, ok: result.ok, output: result.output, missing };
}
