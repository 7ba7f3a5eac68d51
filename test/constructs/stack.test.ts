import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { type Json, environment, example, find, synth } from './helpers.js';

const WORKLOADS = ['StatefulSet', 'Deployment', 'DaemonSet'];

describe('ObservabilityStack', () => {
  it('deploys the metrics and alerting components of an environment into its namespace', () => {
    const { objects } = synth(example('dev'));
    const workloads = objects.filter((o) => WORKLOADS.includes(o.kind)).map((o) => `${o.kind}/${o.metadata.name}`);
    expect(workloads.sort()).toEqual([
      'DaemonSet/filebeat',
      'DaemonSet/node-exporter',
      'Deployment/blackbox-exporter',
      'Deployment/elasticsearch-exporter',
      'Deployment/grafana',
      'Deployment/ingest',
      'Deployment/jaeger',
      'Deployment/kibana',
      'Deployment/kube-state-metrics',
      'Deployment/postgres-exporter-ingest',
      'StatefulSet/alertmanager',
      'StatefulSet/elasticsearch',
      'StatefulSet/ingest-postgres',
      'StatefulSet/logstash',
      'StatefulSet/prometheus',
    ]);
    for (const o of objects) {
      if (['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind)) expect(o.metadata.namespace).toBeUndefined();
      else expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('obstack-dev');
    }
  });

  it('leaves out a component that the environment turns off, with its scrape job and datasource', () => {
    const env = environment({ components: { grafana: { enabled: false }, nodeExporter: { enabled: false } } });
    const result = synth(env);
    expect(result.objects.some((o) => o.metadata.name === 'grafana')).toBe(false);
    expect(result.objects.some((o) => o.metadata.name === 'node-exporter')).toBe(false);
    const prom = parse(result.files.get('prometheus.yml') ?? '') as Json;
    const jobs = prom.scrape_configs.map((j: Json) => j.job_name);
    expect(jobs).not.toContain('node-exporter');
    expect(jobs).not.toContain('grafana');
    expect(jobs).toContain('alertmanager');
  });

  it("wires Grafana's Prometheus datasource to the Prometheus construct's Service", () => {
    const env = environment({ namespace: 'observability', clusterDomain: 'corp.internal' });
    const { objects, stack } = synth(env);
    const ds = parse((find(objects, 'ConfigMap', 'grafana-datasources') as Json).data['datasources.yaml']) as Json;
    const promDs = ds.datasources.find((d: Json) => d.type === 'prometheus');
    expect(promDs.url).toBe(stack.prometheus?.url);
    expect(promDs.url).toBe('http://prometheus.observability.svc.corp.internal:9090');
    const service = find(objects, 'Service', 'prometheus') as Json;
    expect(service.spec.ports[0].port).toBe(9090);
    expect(ds.datasources.find((d: Json) => d.type === 'alertmanager').url).toBe(stack.alertmanager?.url);
  });

  it('scrapes every component of the stack, the kubelet and cAdvisor, and annotated pods and services', () => {
    const prom = parse(synth(example('dev')).files.get('prometheus.yml') ?? '') as Json;
    const jobs = prom.scrape_configs.map((j: Json) => j.job_name);
    expect(jobs).toEqual(
      expect.arrayContaining([
        'prometheus', 'alertmanager', 'grafana', 'node-exporter', 'kube-state-metrics',
        'kubelet', 'cadvisor', 'kubernetes-pods', 'kubernetes-service-endpoints',
      ]),
    );
    const cadvisor = prom.scrape_configs.find((j: Json) => j.job_name === 'cadvisor');
    expect(cadvisor.metrics_path).toBe('/metrics/cadvisor');
    expect(cadvisor.kubernetes_sd_configs[0].role).toBe('node');
    const pods = prom.scrape_configs.find((j: Json) => j.job_name === 'kubernetes-pods');
    const keep = pods.relabel_configs.find((r: Json) => r.action === 'keep');
    expect(keep.source_labels).toEqual(['__meta_kubernetes_pod_annotation_prometheus_io_scrape']);
    const sources = pods.relabel_configs.flatMap((r: Json) => r.source_labels ?? []);
    expect(sources).toContain('__meta_kubernetes_pod_annotation_prometheus_io_port');
    expect(sources).toContain('__meta_kubernetes_pod_annotation_prometheus_io_path');
  });

  it('sends alerts to every Alertmanager replica and drops the replica label so they deduplicate', () => {
    const prom = parse(synth(example('prod')).files.get('prometheus.yml') ?? '') as Json;
    const targets = prom.alerting.alertmanagers[0].static_configs[0].targets;
    expect(targets).toEqual([0, 1, 2].map((i) => `alertmanager-${i}.alertmanager-cluster.obstack.svc.cluster.local:9093`));
    expect(prom.global.external_labels.prometheus_replica).toBe('${POD_NAME}');
    expect(prom.alerting.alert_relabel_configs).toEqual([{ regex: 'prometheus_replica', action: 'labeldrop' }]);
  });

  it('reloads Prometheus rather than rolling it when its configuration changes (see reload.test.ts)', () => {
    const a = find(synth(environment()).objects, 'StatefulSet', 'prometheus') as Json;
    const b = find(synth(environment({ components: { prometheus: { scrapeInterval: '15s' } } })).objects, 'StatefulSet', 'prometheus') as Json;
    expect(b.spec.template).toEqual(a.spec.template);
    expect(a.spec.template.spec.containers.map((c: Json) => c.name)).toEqual(['prometheus', 'config-reloader']);
  });

  it('mounts the rule files and sets retention time and size', () => {
    const { objects } = synth(example('prod'));
    const sts = find(objects, 'StatefulSet', 'prometheus') as Json;
    const args: string[] = sts.spec.template.spec.containers[0].args;
    expect(args).toContain('--storage.tsdb.retention.time=30d');
    expect(args).toContain('--storage.tsdb.retention.size=180GB');
    const rules = find(objects, 'ConfigMap', 'prometheus-rules') as Json;
    expect(Object.keys(rules.data)).toEqual(['stack.yaml']);
    const mount = sts.spec.template.spec.containers[0].volumeMounts.find((m: Json) => m.name === 'rules');
    expect(mount.mountPath).toBe('/etc/prometheus/rules');
  });

  it('gives Prometheus only read access to what service discovery needs', () => {
    const role = find(synth(example('dev')).objects, 'ClusterRole', 'obstack-dev-prometheus') as Json;
    const verbs = new Set(role.rules.flatMap((r: Json) => r.verbs));
    expect([...verbs].sort()).toEqual(['get', 'list', 'watch']);
    expect(role.rules[0].resources).toEqual(expect.arrayContaining(['nodes/metrics', 'pods', 'endpoints', 'services']));
    expect(role.rules.flatMap((r: Json) => r.resources ?? [])).not.toContain('secrets');
  });

  it('clusters Alertmanager peers only when there is more than one replica', () => {
    const single = find(synth(example('dev')).objects, 'StatefulSet', 'alertmanager') as Json;
    expect(single.spec.template.spec.containers[0].args).toContain('--cluster.listen-address=');
    const ha = find(synth(example('prod')).objects, 'StatefulSet', 'alertmanager') as Json;
    const args: string[] = ha.spec.template.spec.containers[0].args;
    expect(args.filter((a) => a.startsWith('--cluster.peer='))).toHaveLength(3);
    expect(args).toContain('--cluster.listen-address=0.0.0.0:9094');
  });

  it('keeps receiver credentials in mounted Secrets, never in the configuration', () => {
    const { objects, files } = synth(example('prod'));
    const config = files.get('alertmanager.yml') ?? '';
    expect(config).toContain('routing_key_file: /etc/alertmanager/secrets/alertmanager-pagerduty/routing-key');
    expect(config).toContain('api_url_file: /etc/alertmanager/secrets/alertmanager-slack/webhook-url');
    expect(config).not.toMatch(/routing_key:|api_url:|auth_password:/);
    const sts = find(objects, 'StatefulSet', 'alertmanager') as Json;
    const secrets = sts.spec.template.spec.volumes.filter((v: Json) => v.secret).map((v: Json) => v.secret.secretName);
    expect(secrets.sort()).toEqual(['alertmanager-config', 'alertmanager-pagerduty', 'alertmanager-slack', 'alertmanager-smtp', 'ingest-alertmanager']);
    const secret = find(objects, 'Secret', 'alertmanager-config') as Json;
    expect(secret.stringData['alertmanager.yml']).toBe(config);
  });

  it('takes Grafana admin credentials from a Secret and provisions one ConfigMap per dashboard', () => {
    const env = environment();
    const result = synthesizeEnvironment(env, {
      dashboards: [
        { uid: 'one', folder: 'SRE', json: '{"uid":"one"}' },
        { uid: 'two', folder: 'SRE', json: '{"uid":"two"}' },
        { uid: 'three', folder: 'Business', json: '{"uid":"three"}' },
      ],
    });
    const deploy = find(result.objects, 'Deployment', 'grafana') as Json;
    const container = deploy.spec.template.spec.containers[0];
    const password = container.env.find((e: Json) => e.name === 'GF_SECURITY_ADMIN_PASSWORD');
    expect(password.valueFrom.secretKeyRef).toEqual({ name: 'grafana-admin', key: 'admin-password' });
    expect(container.env.some((e: Json) => e.name === 'GF_SECURITY_ADMIN_PASSWORD' && 'value' in e)).toBe(false);
    const maps = result.objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.['grafana.obstack.io/dashboard'] === 'true');
    expect(maps.map((m) => m.metadata.name).sort()).toEqual(['grafana-dashboard-one', 'grafana-dashboard-three', 'grafana-dashboard-two']);
    expect(maps.map((m) => (m as Json).metadata.annotations['grafana.obstack.io/folder']).sort()).toEqual(['Business', 'SRE', 'SRE']);
    expect(deploy.spec.template.spec.volumes.find((v: Json) => v.name === 'dashboards').emptyDir).toBeDefined();
    expect(result.files.get('dashboards/three.json')).toBe('{"uid":"three"}');
  });

  it('is highly available in prod: replicas, disruption budgets, anti-affinity and persistent volumes', () => {
    const { objects } = synth(example('prod'));
    for (const name of ['prometheus', 'alertmanager']) {
      const sts = find(objects, 'StatefulSet', name) as Json;
      expect(sts.spec.replicas).toBeGreaterThanOrEqual(2);
      expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toMatch(/Gi$/);
      expect(sts.spec.volumeClaimTemplates[0].spec.storageClassName).toBe('fast-ssd');
      expect(sts.spec.template.spec.affinity.podAntiAffinity).toBeDefined();
      const pdb = find(objects, 'PodDisruptionBudget', name) as Json;
      expect(pdb.spec.selector.matchLabels).toEqual(sts.spec.selector.matchLabels);
      expect(pdb.spec.maxUnavailable).toBe(1);
    }
    const grafana = find(objects, 'Deployment', 'grafana') as Json;
    expect(grafana.spec.replicas).toBe(2);
    find(objects, 'PodDisruptionBudget', 'grafana');
    const ingress = find(objects, 'Ingress', 'grafana') as Json;
    expect(ingress.spec.tls).toEqual([{ hosts: ['grafana.example.com'], secretName: 'grafana-tls' }]);
  });

  it('is small in dev: one replica each, nothing persisted, no budgets, no ingress', () => {
    const { objects } = synth(example('dev'));
    expect(objects.filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
    expect(objects.filter((o) => o.kind === 'Ingress')).toEqual([]);
    expect(objects.filter((o) => o.kind === 'PersistentVolumeClaim')).toEqual([]);
    for (const o of objects.filter((x) => x.kind === 'StatefulSet')) expect((o as Json).spec.volumeClaimTemplates).toBeUndefined();
  });
});
