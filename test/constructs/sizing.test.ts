import { describe, expect, it } from 'vitest';
import type { KubernetesObject } from '../../src/cli/synthesize.js';
import { type Json, example, synth } from './helpers.js';

/** Kubernetes quantity → a number of cores or bytes. */
function quantity(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (!m) throw new Error(`unreadable quantity ${q}`);
  const n = Number(m[1]);
  const unit = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] ?? ''] ?? 1;
  return n * unit;
}

/** Requests of every long-running pod, times its replicas (a DaemonSet counts once: one node). */
function totalRequests(objects: readonly KubernetesObject[]): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const o of objects as Json[]) {
    if (!['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind)) continue;
    const replicas = o.kind === 'DaemonSet' ? 1 : (o.spec.replicas ?? 1);
    for (const c of o.spec.template.spec.containers) {
      cpu += quantity(c.resources.requests.cpu) * replicas;
      memory += quantity(c.resources.requests.memory) * replicas;
    }
  }
  return { cpu, memory };
}

describe('sizing', () => {
  it('keeps dev within 2 CPU and 4 GiB of requests in all, so it fits a laptop cluster', () => {
    const total = totalRequests(synth(example('dev')).objects);
    expect(total.cpu, `dev requests ${total.cpu} CPU`).toBeLessThanOrEqual(2);
    expect(total.memory / 2 ** 30, `dev requests ${(total.memory / 2 ** 30).toFixed(2)} GiB`).toBeLessThanOrEqual(4);
  });

  it('gives every container limits at least as large as its requests', () => {
    for (const name of ['dev', 'staging', 'prod'] as const) {
      for (const o of synth(example(name)).objects as Json[]) {
        const spec = o.spec?.template?.spec ?? o.spec?.jobTemplate?.spec?.template?.spec;
        for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
          for (const r of ['cpu', 'memory']) {
            expect(quantity(c.resources.limits[r]), `${name} ${o.kind}/${o.metadata.name} ${c.name} ${r}`).toBeGreaterThanOrEqual(
              quantity(c.resources.requests[r]),
            );
          }
        }
      }
    }
  });
});
