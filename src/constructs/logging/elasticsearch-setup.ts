import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { ElasticsearchSnapshots, LogsConfig } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { checksum } from '../common/checksum.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';
import { ConnectedComponent } from './connected.js';
import type { Elasticsearch } from './elasticsearch.js';
import { LOG_STREAMS, SERVICE_USERS, deadLetterIndexTemplate, ilmPolicy, logsIndexTemplate, roles } from './index-setup.js';
import { SHELL_LIBRARY, secretEnv, toolPodTemplate } from './tool-pod.js';
import { SNAPSHOT_MONITOR_PRIVILEGES, SNAPSHOT_POLICY, SNAPSHOT_REPOSITORY, snapshotPolicy, snapshotRepository } from './snapshots.js';

export interface ElasticsearchSetupProps {
  readonly namespace: string;
  readonly instance: string;
  readonly elasticsearch: Elasticsearch;
  readonly logs: LogsConfig;
  /** Prefix of Jaeger's indices, for the jaeger role. */
  readonly jaegerIndexPrefix: string;
}

/**
 * Applies the ILM policies, index templates, roles and users. Every request is
 * a PUT of the whole object, so running it again converges rather than fails.
 */
export const SETUP_SCRIPT = `${SHELL_LIBRARY}
wait_for "/_cluster/health?wait_for_status=yellow&timeout=10s"
for f in "$SETUP_DIR"/ilm-*.json; do n="$(basename "$f" .json)"; call PUT "/_ilm/policy/\${n#ilm-}" "$f"; done
for f in "$SETUP_DIR"/template-*.json; do n="$(basename "$f" .json)"; call PUT "/_index_template/\${n#template-}" "$f"; done
for f in "$SETUP_DIR"/role-*.json; do n="$(basename "$f" .json)"; call PUT "/_security/role/\${n#role-}" "$f"; done
# users.txt: one "user password-variable" per line; the body gets the password as a JSON string.
while read -r user var; do
  [ -n "$user" ] || continue
  static="$(cat "$SETUP_DIR/user-$user.json")"
  password="$(json_string "\${!var}")"
  printf '{"password":%s,%s' "$password" "\${static:1}" > "$TMPDIR/body.json"
  call PUT "/_security/user/$user" "$TMPDIR/body.json"
done < "$SETUP_DIR/users.txt"
password="$(json_string "$KIBANA_SYSTEM_PASSWORD")"
printf '{"password":%s}' "$password" > "$TMPDIR/body.json"
call POST "/_security/user/kibana_system/_password" "$TMPDIR/body.json"
rm -f "$TMPDIR/body.json"
echo "setup done"
`;

/**
 * With snapshots: the repository (Elasticsearch checks that it can write to the
 * bucket, so wrong credentials fail the Job) and then the policy that uses it.
 */
const SNAPSHOT_STEPS = `call PUT "/_snapshot/${SNAPSHOT_REPOSITORY}" "$SETUP_DIR/repository.json"
call PUT "/_slm/policy/${SNAPSHOT_POLICY}" "$SETUP_DIR/slm-policy.json"
`;

/** The setup script, with the snapshot steps before its last line when the environment takes snapshots. */
export function setupScript(snapshots: boolean): string {
  if (!snapshots) return SETUP_SCRIPT;
  const last = 'echo "setup done"\n';
  return `${SETUP_SCRIPT.slice(0, -last.length)}${SNAPSHOT_STEPS}${last}`;
}

/** The files of the setup ConfigMap: the script, and every body produced by JSON.stringify. */
export function setupFiles(opts: { logs: LogsConfig; shardReplicas: number; jaegerIndexPrefix: string; snapshots?: ElasticsearchSnapshots; warmAfter?: string }): Record<string, string> {
  const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;
  const files: Record<string, string> = { 'run.sh': setupScript(opts.snapshots !== undefined) };
  const w = opts.warmAfter;
  files[`ilm-${LOG_STREAMS.logs.policy}.json`] = json(ilmPolicy(opts.logs.retentionDays, 'application logs', w));
  files[`ilm-${LOG_STREAMS.audit.policy}.json`] = json(ilmPolicy(opts.logs.auditRetentionDays, 'audit logs', w));
  // Dead letters hold application lines, so they keep them no longer than the application logs.
  files[`ilm-${LOG_STREAMS.deadLetters.policy}.json`] = json(ilmPolicy(opts.logs.retentionDays, 'documents Elasticsearch refused', w));
  for (const s of [LOG_STREAMS.logs, LOG_STREAMS.audit]) {
    files[`template-${s.template}.json`] = json(logsIndexTemplate({ pattern: s.pattern, policy: s.policy, replicas: opts.shardReplicas }));
  }
  const d = LOG_STREAMS.deadLetters;
  files[`template-${d.template}.json`] = json(deadLetterIndexTemplate({ pattern: d.pattern, policy: d.policy, replicas: opts.shardReplicas }));
  const allRoles = roles(opts.jaegerIndexPrefix);
  if (opts.snapshots) {
    // The exporter's snapshot collector lists the repositories and their snapshots.
    const monitoring = allRoles['obstack_monitoring'] ?? {};
    allRoles['obstack_monitoring'] = { ...monitoring, cluster: [...((monitoring['cluster'] as string[] | undefined) ?? []), ...SNAPSHOT_MONITOR_PRIVILEGES] };
    files['repository.json'] = json(snapshotRepository(opts.snapshots));
    files['slm-policy.json'] = json(snapshotPolicy(opts.snapshots));
  }
  for (const [name, role] of Object.entries(allRoles)) files[`role-${name}.json`] = json(role);
  for (const u of SERVICE_USERS) {
    files[`user-${u.user}.json`] = JSON.stringify({ roles: [u.role], full_name: u.user, metadata: { managed_by: 'obstack' } });
  }
  files['users.txt'] = `${SERVICE_USERS.map((u) => `${u.user} ${u.passwordEnv}`).join('\n')}\n`;
  return files;
}

/** The Job that prepares a fresh Elasticsearch: no manual step before logs flow. */
export class ElasticsearchSetup extends ConnectedComponent {
  /** Named after its content: a changed policy makes a new Job, since a Job's template cannot be updated. */
  readonly jobName: string;

  constructor(scope: Construct, id: string, props: ElasticsearchSetupProps) {
    const es = props.elasticsearch;
    super(scope, id, {
      name: 'elasticsearch-setup',
      namespace: props.namespace,
      instance: props.instance,
      version: es.image.tag,
      component: 'logs-setup',
      ports: [],
    });
    const files = setupFiles({
      logs: props.logs,
      shardReplicas: es.shardReplicas,
      jaegerIndexPrefix: props.jaegerIndexPrefix,
      ...(es.snapshots ? { snapshots: es.snapshots } : {}),
      ...(es.tiers ? { warmAfter: es.tiers.warmAfter } : {}),
    });
    const digest = checksum(...Object.entries(files).flat()).slice(0, 8);
    this.jobName = `${this.name}-${digest}`;
    new k8s.KubeConfigMap(this, 'Files', { metadata: { name: this.name, labels: this.labels }, data: files });
    const users = es.users;
    new k8s.KubeJob(this, 'Resource', {
      metadata: { name: this.jobName, labels: this.labels },
      spec: {
        backoffLimit: 20,
        ttlSecondsAfterFinished: 7 * 24 * 3600,
        template: toolPodTemplate({
          image: es.image,
          uid: IMAGE_UIDS.elasticsearch,
          labels: this.labels,
          configMap: this.name,
          env: [
            { name: 'BASE_URL', value: es.url },
            { name: 'AUTH_USER', value: 'elastic' },
            secretEnv('AUTH_PASSWORD', users.elastic),
            secretEnv('KIBANA_SYSTEM_PASSWORD', users.kibanaSystem),
            ...SERVICE_USERS.map((u) => secretEnv(u.passwordEnv, users[u.secret])),
          ],
        }),
      },
    });
    es.connect(this);
    this.addNetworkPolicy();
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [];
  }
}
