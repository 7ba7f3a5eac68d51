import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { Environment, Image } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { addDisruptionBudget, spreadAffinity } from '../common/availability.js';
import { checksum } from '../common/checksum.js';
import { addIngress, ingressUrl } from '../common/ingress.js';
import { containerSecurityContext, httpProbe, memoryBytes, podSecurityContext, resourceRequirements } from '../common/security.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';
import { ConnectedComponent } from './connected.js';
import type { Elasticsearch } from './elasticsearch.js';
import { LOG_STREAMS, LOGS_INDEX_PATTERN } from './index-setup.js';
import { SHELL_LIBRARY, secretEnv, toolPodTemplate } from './tool-pod.js';

export type KibanaSettings = Environment['components']['kibana'];

export interface KibanaProps {
  readonly namespace: string;
  readonly instance: string;
  readonly settings: KibanaSettings;
  readonly image: Image;
  readonly elasticsearch: Elasticsearch;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
}

const PORT = 5601;

/** A Kibana saved object as the import API reads it, one per NDJSON line. */
export interface SavedObject {
  readonly type: 'index-pattern' | 'search';
  readonly id: string;
  readonly attributes: Record<string, unknown>;
  readonly references: ReadonlyArray<{ readonly name: string; readonly type: string; readonly id: string }>;
  readonly coreMigrationVersion: string;
  readonly typeMigrationVersion: string;
}

/** The data views the stack ships: application logs (the default), audit logs and dead letters. */
export const DATA_VIEWS = {
  logs: { id: 'obstack-logs', name: 'Logs', title: LOGS_INDEX_PATTERN },
  audit: { id: 'obstack-audit', name: 'Audit', title: LOG_STREAMS.audit.pattern },
  deadLetters: { id: 'obstack-dead-letters', name: 'Dead letters', title: LOG_STREAMS.deadLetters.pattern },
} as const;

// Objects written in 8.x shapes; Kibana migrates them forward from these versions on import.
const MIGRATION = { coreMigrationVersion: '8.8.0', typeMigrationVersion: '8.0.0' } as const;
const INDEX_REF = 'kibanaSavedObjectMeta.searchSourceJSON.index';

function dataView(v: { id: string; name: string; title: string }): SavedObject {
  return { type: 'index-pattern', id: v.id, attributes: { title: v.title, name: v.name, timeFieldName: '@timestamp' }, references: [], ...MIGRATION };
}

function savedSearch(o: { id: string; title: string; description: string; dataView: string; query: string; columns: string[]; sort: Array<[string, 'asc' | 'desc']>; breakdownField?: string }): SavedObject {
  const searchSource = { query: { query: o.query, language: 'kuery' }, filter: [], indexRefName: INDEX_REF };
  return {
    type: 'search',
    id: o.id,
    attributes: {
      title: o.title,
      description: o.description,
      columns: o.columns,
      sort: o.sort,
      ...(o.breakdownField ? { breakdownField: o.breakdownField } : {}),
      // Kibana stores the search source as JSON text inside the object.
      kibanaSavedObjectMeta: { searchSourceJSON: JSON.stringify(searchSource) },
    },
    references: [{ name: INDEX_REF, type: 'index-pattern', id: o.dataView }],
    ...MIGRATION,
  };
}

/** The saved objects the Kibana setup Job imports: data views and the searches "Errors", "Audit" and "Logs by service". */
export function kibanaSavedObjects(): SavedObject[] {
  const { logs, audit, deadLetters } = DATA_VIEWS;
  return [
    dataView(logs),
    dataView(audit),
    dataView(deadLetters),
    savedSearch({
      id: 'obstack-search-errors',
      title: 'Errors',
      description: 'Lines logged at error level or above (error, critical, fatal), newest first.',
      dataView: logs.id,
      query: 'log.level : ("error" or "critical" or "fatal")',
      columns: ['service.name', 'log.level', 'message', 'error.message', 'http.request.id'],
      sort: [['@timestamp', 'desc']],
    }),
    savedSearch({
      id: 'obstack-search-audit',
      title: 'Audit',
      description: 'Every audited write and refused request, newest first.',
      dataView: audit.id,
      query: '',
      columns: ['user.name', 'event.action', 'event.outcome', 'audit.resource_type', 'audit.resource_id', 'http.request.id'],
      sort: [['@timestamp', 'desc']],
    }),
    savedSearch({
      id: 'obstack-search-logs-by-service',
      title: 'Logs by service',
      description: 'Application logs grouped by service.name, newest first within each.',
      dataView: logs.id,
      query: '',
      columns: ['service.name', 'log.level', 'message'],
      sort: [['service.name', 'asc'], ['@timestamp', 'desc']],
      breakdownField: 'service.name',
    }),
  ];
}

/** The NDJSON file of the import API: one JSON.stringify per object. */
export function savedObjectsNdjson(objects: readonly SavedObject[] = kibanaSavedObjects()): string {
  return `${objects.map((o) => JSON.stringify(o)).join('\n')}\n`;
}

/**
 * Imports the saved objects (overwrite: running again converges) and makes
 * the logs data view the default. The import answers 200 even when an object
 * fails, so the script also requires `"success":true`.
 */
export const KIBANA_SETUP_SCRIPT = `${SHELL_LIBRARY}
import_saved_objects() {
  local file="$1" code
  code="$(curl -sS -o "$TMPDIR/response" -w '%{http_code}' -X POST -u "$AUTH_USER:$AUTH_PASSWORD" -H 'kbn-xsrf: obstack' --form "file=@$file" "$BASE_URL/api/saved_objects/_import?overwrite=true")" || code=000
  if [ "$code" != 200 ] || ! grep -q '"success":true' "$TMPDIR/response"; then
    echo "saved objects import answered $code: $(cat "$TMPDIR/response" 2>/dev/null)" >&2
    return 1
  fi
  echo "saved objects imported"
}
wait_for "/api/status"
import_saved_objects "$SETUP_DIR/saved-objects.ndjson"
call POST "/api/data_views/default" "$SETUP_DIR/default.json"
echo "kibana ready"
`;

/** Kibana, connected to Elasticsearch as kibana_system, with its data views and saved searches imported by a Job. */
export class Kibana extends ConnectedComponent {
  readonly port = PORT;

  constructor(scope: Construct, id: string, props: KibanaProps) {
    super(scope, id, {
      name: 'kibana',
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'logs-ui',
      ports: [{ port: PORT }],
    });
    const { settings } = props;
    const es = props.elasticsearch;
    const uid = IMAGE_UIDS.kibana;
    const clusterDomain = props.clusterDomain ?? 'cluster.local';
    const ing = settings.ingress;
    this.addServiceAccount();
    new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: { type: 'ClusterIP', selector: this.selector, ports: [{ name: 'http', port: PORT, targetPort: k8s.IntOrString.fromString('http') }] },
    });
    // Node's heap: three quarters of the memory limit.
    const heap = Math.floor((memoryBytes(settings.resources.limits.memory) / 2 ** 20) * 0.75);
    const publicUrl = ingressUrl(ing);
    new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        replicas: settings.replicas,
        selector: { matchLabels: this.selector },
        template: {
          metadata: { labels: this.labels },
          spec: {
            ...this.podBasics(uid, settings.replicas),
            containers: [
              {
                name: 'kibana',
                image: `${props.image.repository}:${props.image.tag}`,
                env: [
                  { name: 'SERVER_HOST', value: '0.0.0.0' },
                  { name: 'SERVER_NAME', value: this.name },
                  { name: 'ELASTICSEARCH_HOSTS', value: JSON.stringify([es.url]) },
                  { name: 'ELASTICSEARCH_USERNAME', value: 'kibana_system' },
                  secretEnv('ELASTICSEARCH_PASSWORD', es.users.kibanaSystem),
                  { name: 'TELEMETRY_OPTIN', value: 'false' },
                  { name: 'TELEMETRY_ENABLED', value: 'false' },
                  { name: 'NEWSFEED_ENABLED', value: 'false' },
                  { name: 'NODE_OPTIONS', value: `--max-old-space-size=${heap}` },
                  ...(settings.encryptionKey ? [secretEnv('XPACK_ENCRYPTEDSAVEDOBJECTS_ENCRYPTIONKEY', settings.encryptionKey)] : []),
                  ...(publicUrl ? [{ name: 'SERVER_PUBLICBASEURL', value: publicUrl }] : []),
                ],
                ports: [{ name: 'http', containerPort: PORT }],
                resources: resourceRequirements(settings.resources),
                securityContext: containerSecurityContext(uid),
                // /login answers without credentials once the server is up (/api/status needs them).
                livenessProbe: httpProbe('/login', 'http', { initialDelaySeconds: 120, periodSeconds: 20, failureThreshold: 6 }),
                readinessProbe: httpProbe('/login', 'http', { initialDelaySeconds: 30, periodSeconds: 10 }),
                volumeMounts: [
                  { name: 'data', mountPath: '/usr/share/kibana/data' },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'data', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('128Mi') } },
            ],
          },
        },
      },
    });
    if (settings.replicas > 1) addDisruptionBudget(this, this.name, this.labels, this.selector);
    if (ing.enabled) {
      const controller = addIngress(this, { name: this.name, labels: this.labels, ingress: ing, servicePort: PORT });
      this.ingress.push({ peers: [controller], ports: [{ port: PORT }] });
    }
    es.connect(this);
    this.addNetworkPolicy();
    new KibanaDataView(this, 'DataView', {
      namespace: props.namespace,
      instance: props.instance,
      kibana: this,
      elasticsearch: es,
      url: `http://${this.name}.${props.namespace}.svc.${clusterDomain}:${PORT}`,
    });
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [];
  }
}

/** A Job that imports the saved objects through Kibana's API, idempotently (overwrite=true). */
class KibanaDataView extends ConnectedComponent {
  constructor(scope: Construct, id: string, props: { namespace: string; instance: string; kibana: Kibana; elasticsearch: Elasticsearch; url: string }) {
    const es = props.elasticsearch;
    super(scope, id, {
      name: 'kibana-setup',
      namespace: props.namespace,
      instance: props.instance,
      version: es.image.tag,
      component: 'logs-setup',
      ports: [],
    });
    const files = {
      'run.sh': KIBANA_SETUP_SCRIPT,
      'saved-objects.ndjson': savedObjectsNdjson(),
      'default.json': `${JSON.stringify({ data_view_id: DATA_VIEWS.logs.id, force: true })}\n`,
    };
    new k8s.KubeConfigMap(this, 'Files', { metadata: { name: this.name, labels: this.labels }, data: files });
    new k8s.KubeJob(this, 'Resource', {
      metadata: { name: `${this.name}-${checksum(...Object.values(files)).slice(0, 8)}`, labels: this.labels },
      spec: {
        backoffLimit: 20,
        ttlSecondsAfterFinished: 7 * 24 * 3600,
        template: toolPodTemplate({
          image: es.image,
          uid: IMAGE_UIDS.elasticsearch,
          labels: this.labels,
          configMap: this.name,
          env: [{ name: 'BASE_URL', value: props.url }, { name: 'AUTH_USER', value: 'elastic' }, secretEnv('AUTH_PASSWORD', es.users.elastic)],
        }),
      },
    });
    props.kibana.allowFrom(this, [{ port: PORT }]);
    this.allowTo(props.kibana, PORT);
    this.addNetworkPolicy();
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [];
  }
}
