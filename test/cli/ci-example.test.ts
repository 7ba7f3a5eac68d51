import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { obstack } from './run-captured.js';

const DIR = join(import.meta.dirname, '..', '..', 'examples', 'ci');

interface Step {
  name?: string;
  run?: string;
  uses?: string;
}

describe('examples/ci: the pull-request workflow', () => {
  const workflow = parse(readFileSync(join(DIR, 'obstack.yml'), 'utf8')) as { on: Record<string, unknown>; jobs: Record<string, { steps: Step[] }> };
  const steps = Object.values(workflow.jobs).flatMap((j) => j.steps);
  const runs = steps.map((s) => s.run ?? '').join('\n');
  const readme = readFileSync(join(DIR, 'README.md'), 'utf8');

  it('parses and runs on pull requests', () => {
    expect(Object.keys(workflow.on)).toContain('pull_request');
    expect(steps.some((s) => s.uses?.startsWith('actions/checkout@'))).toBe(true);
  });

  it('installs, synthesizes, checks, and fails on a dist/ that differs from a fresh synth (diff exits non-zero)', () => {
    const order = ['npm ci', 'npx obstack synth --all', 'npx obstack check --all', 'npx obstack diff --all --against dist'].map((c) => runs.indexOf(c));
    expect(order.every((i) => i >= 0), runs).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const diffStep = steps.find((s) => s.run?.includes('obstack diff'))!;
    expect(diffStep.run).toContain('exit "$status"');
    expect(runs).toContain('apt-get install -y --no-install-recommends prometheus prometheus-alertmanager');
  });

  it('every command the README gives is in the workflow, and is a command obstack knows', async () => {
    const named = [...readme.matchAll(/`(npx obstack [^`]+)`/g)].map((m) => m[1]!).filter((c) => !c.includes('NAME'));
    expect(named.length).toBeGreaterThanOrEqual(3);
    for (const c of named) expect(runs, c).toContain(c);
    for (const command of new Set([...runs.matchAll(/npx obstack (\w+)/g)].map((m) => m[1]!))) {
      const r = await obstack([command, '--help']);
      expect(r.code, command).toBe(0);
    }
  });
});
