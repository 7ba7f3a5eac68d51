import type { k8s } from 'cdk8s-plus-27';
import { type ElasticsearchSnapshots, REPOSITORY_SECRET_KEYS, elasticsearchCron } from '../../config/index.js';
import { resourceRequirements, containerSecurityContext } from '../common/security.js';

/**
 * Snapshots of Elasticsearch to an object store: the repository and the
 * snapshot lifecycle (SLM) policy the setup Job registers, built by pure
 * functions, and the init container that puts the repository's credentials
 * into the keystore before the node starts.
 */

/** The repository and the SLM policy share this name; the alerts select it. */
export const SNAPSHOT_REPOSITORY = 'obstack-snapshots';
export const SNAPSHOT_POLICY = 'obstack-snapshots';

/** Where the repository Secret is mounted in the keystore init container. */
const CREDENTIALS_DIR = '/mnt/repository-credentials';
const HOME = '/usr/share/elasticsearch';

/** The body of `PUT _snapshot/obstack-snapshots`: the client `default` reads the keystore's credentials. */
export function snapshotRepository(s: ElasticsearchSnapshots): Record<string, unknown> {
  const r = s.repository;
  const settings: Record<string, unknown> = {
    [r.type === 'azure' ? 'container' : 'bucket']: r.bucket,
    client: 'default',
    ...(r.basePath !== undefined ? { base_path: r.basePath } : {}),
  };
  return { type: r.type, settings };
}

/**
 * The body of `PUT _slm/policy/obstack-snapshots`: every index and the
 * cluster's global state (templates, ILM policies, roles), on the
 * environment's schedule translated to Elasticsearch's cron. SLM appends a
 * unique suffix to each name, so two snapshots on one day do not collide.
 */
export function snapshotPolicy(s: ElasticsearchSnapshots): Record<string, unknown> {
  return {
    schedule: elasticsearchCron(s.schedule),
    name: '<obstack-{now/d}>',
    repository: SNAPSHOT_REPOSITORY,
    config: { indices: ['*'], include_global_state: true, ignore_unavailable: true },
    retention: { expire_after: s.retention.expireAfter, min_count: s.retention.minCount, max_count: s.retention.maxCount },
    _meta: { managed_by: 'obstack' },
  };
}

/**
 * Node settings an S3-compatible endpoint needs (they are not secure settings,
 * so they go to elasticsearch.yml); none for AWS, GCS or Azure.
 */
export function repositoryNodeSettings(s: ElasticsearchSnapshots): Record<string, unknown> {
  const endpoint = s.repository.endpoint;
  if (endpoint === undefined) return {};
  const url = new URL(endpoint);
  return {
    's3.client.default.endpoint': url.host,
    's3.client.default.protocol': url.protocol.replace(/:$/, ''),
    // Most S3-compatible services address buckets by path, not by host name.
    's3.client.default.path_style_access': true,
  };
}

/** The port the nodes must reach the object store on: 443, or the endpoint's. */
export function repositoryPort(s: ElasticsearchSnapshots): number {
  const endpoint = s.repository.endpoint;
  if (endpoint === undefined) return 443;
  const url = new URL(endpoint);
  return url.port !== '' ? Number(url.port) : url.protocol === 'http:' ? 80 : 443;
}

/**
 * Adds each file of the mounted Secret to the keystore under its own name: a
 * credentials file with `add-file`, a string from stdin (`-x`), so no value
 * ever appears in a command line. The keystore lives in the writable config
 * folder; the image's entrypoint then adds the bootstrap password to it.
 */
export const KEYSTORE_SCRIPT = `set -eu
cd ${HOME}
[ -f config/elasticsearch.keystore ] || elasticsearch-keystore create
for f in ${CREDENTIALS_DIR}/*; do
  name="$(basename "$f")"
  case "$name" in
    *.credentials_file) elasticsearch-keystore add-file --force "$name" "$f" ;;
    *) elasticsearch-keystore add --force --stdin "$name" < "$f" ;;
  esac
done
elasticsearch-keystore list
`;

/** The keystore init container and the Secret volume it reads; only the keys the repository type needs are mounted. */
export function keystoreInit(s: ElasticsearchSnapshots, opts: { image: string; uid: number; writable: readonly k8s.VolumeMount[] }): { container: k8s.Container; volume: k8s.Volume } {
  const keys = REPOSITORY_SECRET_KEYS[s.repository.type];
  return {
    container: {
      name: 'keystore',
      image: opts.image,
      command: ['/bin/bash', '-c', KEYSTORE_SCRIPT],
      // The keystore tool is a JVM: a small heap, and room for it.
      env: [{ name: 'CLI_JAVA_OPTS', value: '-Xms32m -Xmx128m' }],
      resources: resourceRequirements({ requests: { cpu: '50m', memory: '192Mi' }, limits: { cpu: '500m', memory: '256Mi' } }),
      securityContext: containerSecurityContext(opts.uid),
      volumeMounts: [{ name: 'repository-credentials', mountPath: CREDENTIALS_DIR, readOnly: true }, ...opts.writable],
    },
    volume: {
      name: 'repository-credentials',
      secret: { secretName: s.repository.clientSecret.secretName, items: keys.map((k) => ({ key: k, path: k })) },
    },
  };
}

/** The cluster privileges the exporter's snapshot collector needs beyond `monitor`: list repositories and snapshots. */
export const SNAPSHOT_MONITOR_PRIVILEGES = ['monitor_snapshot'] as const;
