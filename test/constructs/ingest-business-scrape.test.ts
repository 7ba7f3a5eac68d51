import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { IMAGES, ConfigError } from '../../src/config/index.js';
import { Prometheus } from '../../src/constructs/index.js';
import { SCRAPE_SECRETS_DIR } from '../../src/constructs/prometheus/declared-jobs.js';
import { secretsToCreate } from '../../src/cli/secrets.js';
import { type Json, environment, example, find, synth } from './helpers.js';

/** The scrape job of prometheus.yml named `name`. */
function job(files: ReadonlyMap<string, string>, name: string): Json {
  const config = parse(files.get('prometheus.yml') ?? '') as Json;
  return config.scrape_configs.find((j: Json) => j.job_name === name);
}

describe("Prometheus scraping the ingest service's /metrics/business", () => {
  for (const name of ['dev', 'prod'] as const) {
    it(`${name}: a job of its own presents the key from a file that the StatefulSet mounts from the Secret`, () => {
      const { objects, files, environment: env } = synth(example(name));
      const key = env.components.ingest.prometheusKey;
      const file = `${SCRAPE_SECRETS_DIR}/${key.secretName}/${key.key}`;

      const business = job(files, 'obstack-ingest-business');
      expect(business.metrics_path).toBe('/metrics/business');
      expect(business.authorization).toEqual({ type: 'Bearer', credentials_file: file });
      // The same Service and port as the open /metrics job, which stays without a key.
      const open = job(files, 'obstack-ingest');
      expect(business.relabel_configs.slice(0, 2)).toEqual(open.relabel_configs.slice(0, 2));
      expect(business.relabel_configs[0]).toEqual({ source_labels: ['__meta_kubernetes_service_name'], regex: 'ingest', action: 'keep' });
      expect(open.metrics_path).toBe('/metrics');
      expect(open.authorization).toBeUndefined();
      // Never the key itself.
      expect(files.get('prometheus.yml')).not.toMatch(/credentials:/);

      const pod = (find(objects, 'StatefulSet', 'prometheus') as Json).spec.template.spec;
      const volume = pod.volumes.find((v: Json) => v.secret?.secretName === key.secretName);
      expect(volume.secret.items).toContainEqual({ key: key.key, path: key.key });
      const mount = pod.containers[0].volumeMounts.find((m: Json) => m.name === volume.name);
      expect(mount).toEqual({ name: volume.name, mountPath: `${SCRAPE_SECRETS_DIR}/${key.secretName}`, readOnly: true });
      expect(`${mount.mountPath}/${volume.secret.items.find((i: Json) => i.key === key.key).path}`).toBe(file);
      // Only Prometheus's container reads it, not the reloader sidecar.
      expect(pod.containers[1].volumeMounts.some((m: Json) => m.name === volume.name)).toBe(false);
    });
  }

  it('defaults to the api-key of the Secret ingest-prometheus, and follows the environment', () => {
    expect(environment().components.ingest.prometheusKey).toEqual({ secretName: 'ingest-prometheus', key: 'api-key' });
    const env = environment({ components: { ingest: { prometheusKey: { secretName: 'scrape-keys', key: 'ingest' } } } });
    const { objects, files } = synth(env);
    expect(job(files, 'obstack-ingest-business').authorization.credentials_file).toBe(`${SCRAPE_SECRETS_DIR}/scrape-keys/ingest`);
    const volumes: Json[] = (find(objects, 'StatefulSet', 'prometheus') as Json).spec.template.spec.volumes;
    expect(volumes.filter((v) => v.secret?.secretName === 'ingest-prometheus')).toEqual([]);
    expect(volumes).toContainEqual({ name: 'scrape-secret-0', secret: { secretName: 'scrape-keys', items: [{ key: 'ingest', path: 'ingest' }] } });
  });

  it('shares one volume with a declared job that reads another key of the same Secret', () => {
    const env = environment({
      scrape: { static: [{ job: 'edge', targets: ['10.0.0.1:9100'], basicAuth: { username: 'p', password: { secretName: 'ingest-prometheus', key: 'edge-password' } } }] },
    });
    const pod = (find(synth(env).objects, 'StatefulSet', 'prometheus') as Json).spec.template.spec;
    const volumes = pod.volumes.filter((v: Json) => v.secret?.secretName === 'ingest-prometheus');
    expect(volumes).toHaveLength(1);
    expect(volumes[0].secret.items).toEqual([{ key: 'api-key', path: 'api-key' }, { key: 'edge-password', path: 'edge-password' }]);
    expect(pod.containers[0].volumeMounts.filter((m: Json) => m.mountPath === `${SCRAPE_SECRETS_DIR}/ingest-prometheus`)).toHaveLength(1);
  });

  it('mounts no ingest key when the service is off', () => {
    const env = environment({ components: { ingest: { enabled: false } } });
    const { objects, files } = synth(env);
    expect(job(files, 'obstack-ingest-business')).toBeUndefined();
    const volumes: Json[] = (find(objects, 'StatefulSet', 'prometheus') as Json).spec.template.spec.volumes;
    expect(volumes.some((v) => v.secret?.secretName === 'ingest-prometheus')).toBe(false);
  });

  it('refuses a component endpoint whose key Prometheus does not mount, naming the endpoint', () => {
    const env = environment();
    const chart = new Chart(Testing.app(), 'test');
    const prometheus = new Prometheus(chart, 'Prometheus', { namespace: 'obs', instance: 'test', settings: env.components.prometheus, image: IMAGES.prometheus });
    const target = {
      scrapeEndpoints: [{ jobName: 'kpis', namespace: 'obs', serviceName: 'svc', portName: 'http', bearerToken: { secretName: 'kpi-keys', key: 'token' } }],
    };
    expect(() => prometheus.scrape(target)).toThrow(/scrape endpoint "kpis" reads its bearer token from Secret "kpi-keys" key "token", which Prometheus does not mount/);

    const mounted = new Prometheus(new Chart(Testing.app(), 'ok'), 'Prometheus', {
      namespace: 'obs',
      instance: 'test',
      settings: env.components.prometheus,
      image: IMAGES.prometheus,
      componentScrapeSecrets: [{ secretName: 'kpi-keys', key: 'other' }],
    });
    // The right Secret but another key is not enough.
    expect(() => mounted.scrape(target)).toThrow(/"kpis"/);
    mounted.scrape({ scrapeEndpoints: [{ ...target.scrapeEndpoints[0]!, bearerToken: { secretName: 'kpi-keys', key: 'other' } }] });
    expect(parse(mounted.renderConfig()).scrape_configs.find((j: Json) => j.job_name === 'kpis').authorization).toEqual({
      type: 'Bearer',
      credentials_file: `${SCRAPE_SECRETS_DIR}/kpi-keys/other`,
    });
  });

  it('keeps the job name for the stack: an environment may not declare obstack-ingest-business', () => {
    const declare = () => environment({ scrape: { static: [{ job: 'obstack-ingest-business', targets: ['10.0.0.1:9100'] }] } });
    expect(declare).toThrow(ConfigError);
    expect(declare).toThrow(/scrape\.static\[0\]\.job: job name "obstack-ingest-business" is already a job of the stack/);
  });

  it('lists the key in `obstack secrets` as read by Prometheus, with what it holds', () => {
    const result = synth(example('prod'));
    const secret = secretsToCreate(result.environment, result.objects).find((s) => s.name === 'ingest-prometheus');
    expect(secret?.readBy).toEqual(['prometheus']);
    expect(secret?.keys).toEqual([
      {
        key: 'api-key',
        holds: expect.stringMatching(/metrics scope.*Prometheus.*\/metrics\/business/),
        declaredAt: ['components.ingest.prometheusKey'],
      },
    ]);
  });
});
