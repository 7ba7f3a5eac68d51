import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CompiledRuleTests } from '../authoring/index.js';
import { promtoolTestRules, type ToolResult } from './tools.js';

/** Writes compiled rule tests into a scratch folder and runs them all with one `promtool test rules`. */
export function runRuleTests(compiled: CompiledRuleTests): ToolResult {
  const testFiles = Object.keys(compiled.testFiles).sort();
  if (testFiles.length === 0) return { ok: true, output: 'no rule tests' };
  const dir = mkdtempSync(join(tmpdir(), 'obstack-rule-tests-'));
  try {
    for (const [name, text] of [...Object.entries(compiled.ruleFiles), ...Object.entries(compiled.testFiles)]) {
      writeFileSync(join(dir, name), text);
    }
    return promtoolTestRules(testFiles.map((f) => join(dir, f)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
