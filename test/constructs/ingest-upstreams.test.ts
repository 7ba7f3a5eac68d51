import { describe, expect, it } from 'vitest';
import { checkSynthesized } from '../../src/cli/check.js';
import { type Json, environment, example, find, synth } from './helpers.js';

const pods = (name: string, instance: string) => ({ podSelector: { matchLabels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': instance } } });
const envOf = (objects: Parameters<typeof find>[0]): Json[] => (find(objects, 'Deployment', 'ingest') as Json).spec.template.spec.containers[0].env;

describe('IngestService reading Prometheus and Jaeger', () => {
  it("hands the service Prometheus's and Jaeger's query URLs and opens both flows, from the service and into each", () => {
    const result = synth(example('dev'));
    expect(checkSynthesized(result, { tools: false })).toEqual([]);
    const { objects } = result;
    const env = envOf(objects);
    expect(env).toContainEqual({ name: 'INGEST_PROMETHEUS_URL', value: 'http://prometheus.obstack-dev.svc.cluster.local:9090' });
    const jaegerUrl = env.find((e) => e.name === 'INGEST_JAEGER_QUERY_URL')?.value as string;
    expect(jaegerUrl).toMatch(/^http:\/\/[a-z0-9.-]+\.obstack-dev\.svc\.cluster\.local:16686$/);

    const egress: Json[] = (find(objects, 'NetworkPolicy', 'ingest') as Json).spec.egress;
    expect(egress).toContainEqual({ to: [pods('prometheus', 'dev')], ports: [{ port: 9090, protocol: 'TCP' }] });
    expect(egress).toContainEqual({ to: [pods('jaeger', 'dev')], ports: [{ port: 16686, protocol: 'TCP' }] });
    const prometheus = find(objects, 'NetworkPolicy', 'prometheus') as Json;
    expect(prometheus.spec.ingress).toContainEqual({ from: [pods('ingest', 'dev')], ports: [{ port: 9090, protocol: 'TCP' }] });
    const jaeger = find(objects, 'NetworkPolicy', 'jaeger') as Json;
    expect(jaeger.spec.ingress).toContainEqual({ from: [pods('ingest', 'dev')], ports: [{ port: 16686, protocol: 'TCP' }] });
  });

  it('leaves both URLs unset, and opens no flow, when the environment runs neither Prometheus nor Jaeger', () => {
    const { objects } = synth(environment({ components: { prometheus: { enabled: false }, jaeger: { enabled: false } } }));
    const names = envOf(objects).map((e) => e.name);
    expect(names).not.toContain('INGEST_PROMETHEUS_URL');
    expect(names).not.toContain('INGEST_JAEGER_QUERY_URL');
    const egress = JSON.stringify((find(objects, 'NetworkPolicy', 'ingest') as Json).spec.egress);
    expect(egress).not.toContain('"prometheus"');
    expect(egress).not.toContain('"jaeger"');
  });
});
