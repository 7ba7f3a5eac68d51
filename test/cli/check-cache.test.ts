import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stackDashboards } from '../../dashboards/index.js';
import { stackRuleFiles } from '../../rules/index.js';
import { CheckCache, saveCheckCache, useCheckCache } from '../../src/cli/check-cache.js';
import { checkSynthesized } from '../../src/cli/check.js';
import { type KubernetesObject, type SynthesizedEnvironment, synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { example } from '../constructs/helpers.js';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'obstack-check-cache-'));

describe('CheckCache', () => {
  it('computes once per input and code; a saved cache answers a later run with an equal copy', () => {
    const file = join(scratch(), 'checks.json');
    let runs = 0;
    const compute = () => {
      runs++;
      return [{ check: 'schema', object: 'Deployment/x', message: 'wrong' }];
    };
    const first = new CheckCache(file, 'code-1');
    expect(first.get('schema', 'input-a', compute)).toEqual(compute());
    runs = 1;
    first.save();

    const second = new CheckCache(file, 'code-1');
    const hit = second.get('schema', 'input-a', compute);
    expect(runs).toBe(1);
    expect(hit).toEqual([{ check: 'schema', object: 'Deployment/x', message: 'wrong' }]);
    // A caller that changes what it got does not change what the cache holds.
    hit[0]!.message = 'changed by the caller';
    expect(second.get('schema', 'input-a', compute)[0]!.message).toBe('wrong');
    expect([second.hits, second.misses]).toEqual([2, 0]);
  });

  it('misses on another input, another check or another obstack', () => {
    const file = join(scratch(), 'checks.json');
    const cache = new CheckCache(file, 'code-1');
    cache.get('schema', 'input-a', () => ['a']);
    cache.save();
    let runs = 0;
    const again = new CheckCache(file, 'code-1');
    expect(again.get('schema', 'input-b', () => (runs++, ['b']))).toEqual(['b']);
    expect(again.get('policy', 'input-a', () => (runs++, ['p']))).toEqual(['p']);
    expect(runs).toBe(2);
    const otherCode = new CheckCache(file, 'code-2');
    expect(otherCode.get('schema', 'input-a', () => (runs++, ['fresh']))).toEqual(['fresh']);
    expect(runs).toBe(3);
  });

  it('ignores a corrupt file and replaces it on save', () => {
    const dir = scratch();
    const file = join(dir, 'checks.json');
    writeFileSync(file, '{"format":1,"code":"code-1","entries":');
    let runs = 0;
    const cache = new CheckCache(file, 'code-1');
    expect(cache.get('schema', 'x', () => (runs++, 1))).toBe(1);
    expect(runs).toBe(1);
    cache.save();
    expect(new CheckCache(file, 'code-1').get('schema', 'x', () => (runs++, 2))).toBe(1);
    expect(runs).toBe(1);
  });
});

describe('checkSynthesized with the cache on', () => {
  afterEach(() => {
    useCheckCache(undefined);
  });

  const env = example('dev');
  const base = synthesizeEnvironment(env, { ruleFiles: stackRuleFiles(env), dashboards: stackDashboards(env) });
  /** The environment with a typo in its first Deployment: an unknown-field finding. */
  const withTypo = (result: SynthesizedEnvironment, field: string): SynthesizedEnvironment => {
    const i = result.objects.findIndex((o) => o.kind === 'Deployment');
    const objects = result.objects.map((o, j): KubernetesObject => (j === i ? { ...o, spec: { ...(o.spec as object), [field]: 1 } } : o));
    return { ...result, objects };
  };

  it('gives the same findings from the cache as without it, a failure included, and runs a check again when its input changes', () => {
    const root = scratch();
    mkdirSync(join(root, 'node_modules'));
    const broken = withTypo(base, 'replica');
    const uncached = checkSynthesized(broken, { tools: false });
    expect(uncached.some((f) => f.startsWith('[unknown-field]') && f.includes('spec.replica'))).toBe(true);

    const cold = useCheckCache(root)!;
    expect(checkSynthesized(broken, { tools: false })).toEqual(uncached);
    expect(cold.hits).toBe(0);
    saveCheckCache();

    // A later run: every check answered from the file, the failure as it was found.
    const warm = useCheckCache(root)!;
    expect(checkSynthesized(broken, { tools: false })).toEqual(uncached);
    expect(warm.misses).toBe(0);
    expect(warm.hits).toBe(cold.misses);

    // One object changed: its schema check and the policy (which reads all objects) run again, nothing else.
    const other = withTypo(base, 'replicaz');
    const found = checkSynthesized(other, { tools: false });
    expect(found).toEqual((useCheckCache(undefined), checkSynthesized(other, { tools: false })));
    expect(found.some((f) => f.includes('spec.replicaz'))).toBe(true);
    expect(found.some((f) => f.includes('spec.replica:') || f.includes('"replica"'))).toBe(false);
    expect(warm.misses).toBe(2);

    // Fixed: no finding is carried over from the cached failure.
    const fixed = useCheckCache(root)!;
    expect(checkSynthesized(base, { tools: false })).toEqual([]);
    expect(fixed.misses).toBe(2);
  });
});
