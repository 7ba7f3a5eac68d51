import { describe, expect, it } from 'vitest';
import { checkSynthesized } from '../../src/cli/check.js';
import { type Json, environment, example, find, synth } from './helpers.js';

const pods = (name: string, instance: string) => ({ podSelector: { matchLabels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': instance } } });

describe('IngestService silencing through Alertmanager', () => {
  it("hands the service Alertmanager's in-cluster URL and opens the flow from the service to Alertmanager's web port, both ways", () => {
    const result = synth(example('dev'));
    expect(checkSynthesized(result, { tools: false })).toEqual([]);
    const { objects } = result;
    const deploy = find(objects, 'Deployment', 'ingest') as Json;
    const env: Json[] = deploy.spec.template.spec.containers[0].env;
    expect(env.find((e) => e.name === 'ALERTMANAGER_URL')).toEqual({
      name: 'ALERTMANAGER_URL',
      value: 'http://alertmanager.obstack-dev.svc.cluster.local:9093',
    });
    const ingress = find(objects, 'NetworkPolicy', 'ingest') as Json;
    expect(ingress.spec.egress).toContainEqual({ to: [pods('alertmanager', 'dev')], ports: [{ port: 9093, protocol: 'TCP' }] });
    const am = find(objects, 'NetworkPolicy', 'alertmanager') as Json;
    expect(am.spec.ingress).toContainEqual({ from: [pods('ingest', 'dev')], ports: [{ port: 9093, protocol: 'TCP' }] });
  });

  it('leaves ALERTMANAGER_URL unset, so acknowledging answers 503, when the environment runs no Alertmanager', () => {
    const { objects } = synth(environment({ components: { alertmanager: { enabled: false } } }));
    const env: Json[] = (find(objects, 'Deployment', 'ingest') as Json).spec.template.spec.containers[0].env;
    expect(env.map((e) => e.name)).not.toContain('ALERTMANAGER_URL');
    const egress: Json[] = (find(objects, 'NetworkPolicy', 'ingest') as Json).spec.egress;
    expect(JSON.stringify(egress)).not.toContain('"alertmanager"');
  });
});
