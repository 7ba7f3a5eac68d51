import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { Environment, Image } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { addDisruptionBudget, spreadAffinity } from '../common/availability.js';
import { checksum } from '../common/checksum.js';
import { addIngress, ingressUrl } from '../common/ingress.js';
import { containerSecurityContext, httpProbe, podSecurityContext, resourceRequirements } from '../common/security.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';
import { ConnectedComponent } from './connected.js';
import { type Elasticsearch, memoryBytes } from './elasticsearch.js';
import { LOGS_INDEX_PATTERN } from './index-setup.js';
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

/** The logs data view Kibana opens with: application and audit logs by @timestamp. */
export const LOGS_DATA_VIEW = {
  data_view: { id: 'obstack-logs', name: 'Logs', title: LOGS_INDEX_PATTERN, timeFieldName: '@timestamp' },
  override: true,
} as const;

const DATA_VIEW_SCRIPT = `${SHELL_LIBRARY}
wait_for "/api/status"
call POST "/api/data_views/data_view" "$SETUP_DIR/data-view.json"
call POST "/api/data_views/default" "$SETUP_DIR/default.json"
echo "data view ready"
`;

/** Kibana, connected to Elasticsearch as kibana_system, with the logs data view provisioned by a Job. */
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

/** A Job that provisions the logs data view through Kibana's API, idempotently (override: true). */
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
      'run.sh': DATA_VIEW_SCRIPT,
      'data-view.json': `${JSON.stringify(LOGS_DATA_VIEW, null, 2)}\n`,
      'default.json': `${JSON.stringify({ data_view_id: LOGS_DATA_VIEW.data_view.id, force: true })}\n`,
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
