import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { stackRuleFiles, stackRuleGroups } from '../../../rules/index.js';
import { prometheusRules } from '../../../rules/prometheus.js';
import { stackDashboards } from '../../../dashboards/index.js';
import { checkSynthesized } from '../../../src/cli/check.js';
import { synthesizeEnvironment } from '../../../src/cli/synthesize.js';
import { compileRuleTests, isAlert, ownRunbookContent } from '../../../src/authoring/index.js';
import { ConfigError, type Environment } from '../../../src/config/index.js';
import { SCRAPE_SECRETS_DIR } from '../../../src/constructs/prometheus/declared-jobs.js';
import { promtoolCheckConfig } from '../../../src/validate/tools.js';
import { runRuleTests } from '../../../src/validate/rules-tests.js';
import { writeOfflinePrometheus } from '../../support/offline-prometheus.js';
import { type Json, environment, find, synth } from '../helpers.js';

const MIMIR = {
  name: 'mimir',
  url: 'https://mimir.example.com/api/v1/push',
  bearerToken: { secretName: 'remote-write', key: 'mimir-token' },
  tls: { ca: { secretName: 'remote-write', key: 'ca.crt' }, serverName: 'mimir.example.com' },
  headers: { 'X-Scope-OrgID': 'platform' },
  remoteTimeout: '20s',
  queue: { capacity: 20000, maxShards: 30, minShards: 2, maxSamplesPerSend: 4000, batchSendDeadline: '10s' },
  writeRelabel: { keep: 'up|node_.*|kube_.*', drop: 'node_scrape_.*', configs: [{ regex: 'pod_template_hash', action: 'labeldrop' }] },
  egress: ['203.0.113.0/24'],
} as const;
const RECEIVE = { name: 'thanos-receive', url: 'http://thanos-receive.storage.svc:19291/api/v1/receive', basicAuth: { username: 'prom', password: { secretName: 'receive', key: 'password' } } } as const;
const VM = { name: 'victoria', url: 'http://10.20.0.5:8428/api/v1/write' } as const;

const withRemoteWrite = (remoteWrite: readonly unknown[], more: Record<string, unknown> = {}): Environment =>
  environment({ components: { prometheus: { remoteWrite, ...more } } });

const promYml = (files: ReadonlyMap<string, string>): Json => parse(files.get('prometheus.yml') ?? '');

describe('remote write in prometheus.yml', () => {
  const { files, objects } = synth(withRemoteWrite([MIMIR, RECEIVE, VM]));
  const config = promYml(files);

  it('writes one queue per store, credentials as files of mounted Secret keys, with queue tuning and relabel filters', () => {
    expect(config.remote_write).toEqual([
      {
        name: 'mimir',
        url: 'https://mimir.example.com/api/v1/push',
        remote_timeout: '20s',
        headers: { 'X-Scope-OrgID': 'platform' },
        authorization: { type: 'Bearer', credentials_file: `${SCRAPE_SECRETS_DIR}/remote-write/mimir-token` },
        tls_config: { ca_file: `${SCRAPE_SECRETS_DIR}/remote-write/ca.crt`, server_name: 'mimir.example.com' },
        queue_config: { capacity: 20000, max_shards: 30, min_shards: 2, max_samples_per_send: 4000, batch_send_deadline: '10s' },
        write_relabel_configs: [
          { source_labels: ['__name__'], regex: 'up|node_.*|kube_.*', action: 'keep' },
          { source_labels: ['__name__'], regex: 'node_scrape_.*', action: 'drop' },
          { regex: 'pod_template_hash', action: 'labeldrop' },
        ],
      },
      { name: 'thanos-receive', url: 'http://thanos-receive.storage.svc:19291/api/v1/receive', basic_auth: { username: 'prom', password_file: `${SCRAPE_SECRETS_DIR}/receive/password` } },
      { name: 'victoria', url: 'http://10.20.0.5:8428/api/v1/write' },
    ]);
    // Series that leave the cluster say where they come from, and which replica sent them (for the store's deduplication).
    expect(config.global.external_labels).toEqual({ cluster: 'test', prometheus_replica: '${POD_NAME}' });
  });

  it('mounts each Secret key it reads, only into the Prometheus container', () => {
    const pod = (find(objects, 'StatefulSet', 'prometheus') as Json).spec.template.spec;
    const volume = (secretName: string) => pod.volumes.find((v: Json) => v.secret?.secretName === secretName);
    expect(volume('remote-write').secret.items).toEqual([
      { key: 'ca.crt', path: 'ca.crt' },
      { key: 'mimir-token', path: 'mimir-token' },
    ]);
    expect(volume('receive').secret.items).toEqual([{ key: 'password', path: 'password' }]);
    const mounts: Json[] = pod.containers[0].volumeMounts;
    expect(mounts).toContainEqual({ name: volume('remote-write').name, mountPath: `${SCRAPE_SECRETS_DIR}/remote-write`, readOnly: true });
    expect(pod.containers[1].volumeMounts.some((m: Json) => m.name === volume('remote-write').name)).toBe(false);
  });

  it("opens egress to each store's port only: the listed blocks, the Service's namespace, the IP", () => {
    const egress: Json[] = (find(objects, 'NetworkPolicy', 'prometheus') as Json).spec.egress;
    const to = (port: number) => egress.filter((e) => e.ports?.some((p: Json) => p.port === port));
    expect(to(443)).toContainEqual({ to: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ port: 443, protocol: 'TCP' }] });
    expect(to(19291)).toEqual([{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'storage' } } }], ports: [{ port: 19291, protocol: 'TCP' }] }]);
    expect(to(8428)).toEqual([{ to: [{ ipBlock: { cidr: '10.20.0.5/32' } }], ports: [{ port: 8428, protocol: 'TCP' }] }]);
  });

  it('passes promtool check config, and without remote write nothing of it is written', () => {
    const root = mkdtempSync(join(tmpdir(), 'obstack-remote-write-'));
    try {
      const offline = writeOfflinePrometheus(files, root);
      expect(offline.findings).toEqual([]);
      const result = promtoolCheckConfig(offline.configFile);
      expect(result.output).toContain('SUCCESS');
      expect(result.ok).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    const plain = promYml(synth(environment()).files);
    expect(plain.remote_write).toBeUndefined();
    expect(plain.global.external_labels).toBeUndefined();
  });
});

describe('the environment refuses a remote write', () => {
  const problems = (entry: Record<string, unknown>, extra: readonly unknown[] = []): string[] => {
    try {
      withRemoteWrite([entry, ...extra]);
    } catch (e) {
      if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
      throw e;
    }
    return [];
  };
  const at = 'components.prometheus.remoteWrite[0]';
  const startsWith = (text: string) => expect.stringMatching(new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

  it('whose URL is not http(s), carries credentials or is not absolute', () => {
    expect(problems({ ...VM, url: 'ftp://10.0.0.1/write' })).toEqual([`${at}.url: must use http or https, got "ftp"`]);
    expect(problems({ ...VM, url: 'https://user:secret@10.0.0.1/write' })).toEqual([`${at}.url: must not carry a user or password; put credentials in bearerToken or basicAuth`]);
    expect(problems({ ...VM, url: 'mimir/api/v1/push' })).toEqual([startsWith(`${at}.url: must be an absolute http(s) URL`)]);
  });

  it('with a name used twice, a token and a password, TLS over http, a reserved header, or fewer maxShards than minShards', () => {
    expect(problems(VM, [{ ...VM, url: 'http://10.0.0.9:8428/api/v1/write' }])).toEqual(['components.prometheus.remoteWrite[1].name: "victoria" also names remoteWrite[0]; names must be unique']);
    expect(problems({ ...RECEIVE, bearerToken: { secretName: 'r', key: 't' } })).toEqual([`${at}.basicAuth: cannot be set with bearerToken: a request carries one Authorization header`]);
    expect(problems({ ...VM, tls: { insecureSkipVerify: true } })).toEqual([`${at}.tls: is only for an https URL`]);
    expect(problems({ ...VM, headers: { authorization: 'Bearer x' } })).toEqual([`${at}.headers.authorization: is reserved: put the token in bearerToken (a Secret)`]);
    expect(problems({ ...VM, headers: { 'User-Agent': 'me' } })).toEqual([`${at}.headers.User-Agent: is a header Prometheus sets itself; it refuses a config that sets it`]);
    expect(problems({ ...VM, queue: { minShards: 10, maxShards: 5 } })).toEqual([`${at}.queue.minShards: must not exceed maxShards (5), got 10`]);
    expect(problems({ ...VM, writeRelabel: { keep: 'node_(' } })).toEqual([`${at}.writeRelabel.keep: must be a regular expression over metric names, such as "node_.*|up"`]);
  });

  it('to a host outside the cluster without address blocks, or with blocks it does not need; an inline token', () => {
    expect(problems({ ...MIMIR, egress: undefined })).toEqual([startsWith(`${at}.egress: is required: "mimir.example.com" is outside the cluster`)]);
    expect(problems({ ...RECEIVE, egress: ['10.0.0.0/8'] })).toEqual([`${at}.egress: is only for a host name outside the cluster; "thanos-receive.storage.svc" is reached without it`]);
    expect(problems({ ...VM, bearerToken: 'abc' })).toEqual([startsWith(`${at}.bearerToken: must be a reference to a Kubernetes Secret`)]);
  });
});

describe('the remote-write alerts', () => {
  const names = (e: Environment) => prometheusRules(e).flatMap((g) => g.rules.filter(isAlert).map((r) => r.name));
  const REMOTE = ['PrometheusRemoteStorageFailures', 'PrometheusRemoteWriteBehind', 'PrometheusRemoteWriteDesiredShards'];

  it('ship to every environment, so the alert names an environment file may override do not depend on remote write', () => {
    expect(names(environment())).toEqual(expect.arrayContaining(REMOTE));
    expect(names(withRemoteWrite([VM]))).toEqual(expect.arrayContaining(REMOTE));
  });

  it('pass their cases, each firing and silent, in the real promtool', () => {
    const groups = prometheusRules(withRemoteWrite([VM])).filter((g) => g.name === 'obstack.prometheus.remote-write');
    const rules = groups.flatMap((g) => g.rules.filter(isAlert));
    expect(rules.map((r) => r.name)).toEqual(REMOTE);
    for (const r of rules) {
      expect(r.tests.some((t) => t.fires.length > 0), r.name).toBe(true);
      expect(r.tests.some((t) => t.fires.length === 0), r.name).toBe(true);
    }
    const result = runRuleTests(compileRuleTests({ 'prometheus.yaml': groups }));
    expect(result.output).not.toContain('FAILED');
    expect(result.ok).toBe(true);
  });

  it('pass every check of a synthesized environment, their metrics known, their runbook pages written', () => {
    const env = withRemoteWrite([MIMIR]);
    // As `obstack synth` does: the notes an alert carries become its page.
    const runbookContent = ownRunbookContent(Object.values(stackRuleGroups(env)).flat());
    const result = synthesizeEnvironment(env, { ruleFiles: stackRuleFiles(env), dashboards: stackDashboards(env), runbookContent });
    expect(checkSynthesized(result, { tools: true })).toEqual([]);
    expect(result.files.get('rules/prometheus.yaml')).toContain('PrometheusRemoteWriteBehind');
    expect(result.files.get('runbooks/prometheus-remote-write-behind.md')).toContain('Too few remote-write shards');
  }, 120_000);
});
