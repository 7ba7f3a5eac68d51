import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { Environment, Image } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { addDisruptionBudget, spreadAffinity } from '../common/availability.js';
import { configReloaderContainer } from '../common/config-reloader.js';
import { addIngress, ingressUrl } from '../common/ingress.js';
import { templateSource } from '../../../templates/index.js';
import { StackComponent } from '../common/component.js';
import { containerSecurityContext, httpProbe, podSecurityContext, resourceRequirements } from '../common/security.js';
import { dataVolume } from '../common/storage.js';
import type { TeamOwnership } from '../prometheus/config.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';
import { type HistoryWebhook, SECRETS_DIR, TEMPLATES_FILE, allChannels, buildAlertmanagerConfig, referencedSecrets } from './config.js';
import { yamlText } from '../../config/yaml-text.js';
import { rememberDocument } from '../../authoring/known-documents.js';

export type AlertmanagerSettings = Environment['components']['alertmanager'];

export interface AlertmanagerProps {
  readonly namespace: string;
  readonly instance: string;
  readonly settings: AlertmanagerSettings;
  readonly alerting: Environment['alerting'];
  /**
   * Application teams: each gets its own subtree, matched on the `team` label, with its own receivers.
   * @default - no teams: every alert goes to the environment's receivers
   */
  readonly teams?: Environment['teams'];
  readonly image: Image;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
  /**
   * Where every alert is copied for the alert history: the ingest service's
   * webhook, and the pods Alertmanager may reach it on.
   * @default - no history beyond a webhook receiver of the environment
   */
  readonly history?: HistoryWebhook & { readonly selector: Record<string, string>; readonly port: number };
  /** The config-reloader sidecar's image. @default IMAGES.configReloader */
  readonly reloaderImage?: Image;
  /**
   * The notification templates (Go templates) that alertmanager.yml's receivers call.
   * @default - templates/alertmanager/obstack.tmpl as shipped
   */
  readonly notificationTemplates?: string;
}

const WEB = 9093;
const MESH = 9094;
const CONFIG_DIR = '/etc/alertmanager/config';

/**
 * Alertmanager as a StatefulSet whose replicas form one gossip cluster. Its
 * configuration lives in a Secret, reloaded by a sidecar when it changes;
 * receivers' credentials are files mounted from the Secrets the environment
 * names, never inline.
 */
export class Alertmanager extends StackComponent {
  readonly replicas: number;
  private readonly alerting: Environment['alerting'];
  private readonly teams: Environment['teams'];
  private readonly history: HistoryWebhook | undefined;
  private readonly clusterService: string;
  private readonly clusterDomain: string;
  /** The notification templates that go next to alertmanager.yml. */
  readonly notificationTemplates: string;
  /**
   * Where people open this Alertmanager: `settings.externalUrl`, else its
   * ingress, else its in-cluster Service. Its `--web.external-url`, so the
   * notifications' links (`.ExternalURL`) and silence links point there.
   */
  readonly externalUrl: string;

  constructor(scope: Construct, id: string, props: AlertmanagerProps) {
    super(scope, id, {
      name: 'alertmanager',
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'alerting',
      ports: [{ port: WEB }],
    });
    const { settings } = props;
    this.alerting = props.alerting;
    this.teams = props.teams ?? {};
    this.history = props.history ? { url: props.history.url, bearerToken: props.history.bearerToken } : undefined;
    this.replicas = settings.replicas;
    this.clusterDomain = props.clusterDomain ?? 'cluster.local';
    this.clusterService = `${this.name}-cluster`;
    const uid = IMAGE_UIDS.alertmanager;
    this.externalUrl = settings.externalUrl ?? ingressUrl(settings.ingress) ?? this.url;
    this.notificationTemplates = props.notificationTemplates ?? templateSource(`alertmanager/${TEMPLATES_FILE}`);
    const configText = this.renderConfig();

    this.addServiceAccount();
    new k8s.KubeSecret(this, 'Config', {
      metadata: { name: 'alertmanager-config', labels: this.labels },
      type: 'Opaque',
      // The templates sit next to alertmanager.yml, in the volume the sidecar watches: a change of either reloads.
      stringData: { 'alertmanager.yml': configText, [TEMPLATES_FILE]: this.notificationTemplates },
    });
    new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        type: 'ClusterIP',
        selector: this.selector,
        ports: [{ name: 'web', port: WEB, targetPort: k8s.IntOrString.fromString('web') }],
      },
    });
    new k8s.KubeService(this, 'ClusterService', {
      metadata: { name: this.clusterService, labels: this.labels },
      spec: {
        clusterIp: 'None',
        // Peers must find each other before they are ready, or a cluster never forms.
        publishNotReadyAddresses: true,
        selector: this.selector,
        ports: [
          { name: 'web', port: WEB, targetPort: k8s.IntOrString.fromString('web') },
          { name: 'mesh-tcp', port: MESH, protocol: 'TCP', targetPort: k8s.IntOrString.fromNumber(MESH) },
          { name: 'mesh-udp', port: MESH, protocol: 'UDP', targetPort: k8s.IntOrString.fromNumber(MESH) },
        ],
      },
    });

    const secrets = [...new Set(referencedSecrets(props.alerting, this.history, this.teams).map((s) => s.secretName))].sort();
    const data = dataVolume('data', settings.storage, this.labels);
    const peers = this.podNames().map((p) => `--cluster.peer=${p}.${this.clusterService}.${this.namespace}.svc:${MESH}`);
    const clusterArgs =
      this.replicas > 1
        ? [`--cluster.listen-address=0.0.0.0:${MESH}`, `--cluster.advertise-address=$(POD_IP):${MESH}`, ...peers]
        : ['--cluster.listen-address='];

    new k8s.KubeStatefulSet(this, 'Resource', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        serviceName: this.clusterService,
        replicas: this.replicas,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: this.selector },
        ...(data.claims.length > 0 ? { volumeClaimTemplates: data.claims } : {}),
        template: {
          // No checksum of alertmanager.yml: the kubelet updates the mounted Secret and the sidecar reloads it.
          metadata: { labels: this.labels },
          spec: {
            ...this.podBasics(uid, this.replicas),
            containers: [
              {
                name: 'alertmanager',
                image: `${props.image.repository}:${props.image.tag}`,
                args: [
                  `--config.file=${CONFIG_DIR}/alertmanager.yml`,
                  '--storage.path=/alertmanager',
                  `--data.retention=${settings.retention}`,
                  `--web.listen-address=:${WEB}`,
                  `--web.external-url=${this.externalUrl}`,
                  // A path in the external URL would move every endpoint under it (probes, /-/reload, the API
                  // Prometheus and Grafana call): they stay at "/", and a proxy serving a path strips it.
                  '--web.route-prefix=/',
                  ...clusterArgs,
                ],
                env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
                ports: [
                  { name: 'web', containerPort: WEB },
                  { name: 'mesh-tcp', containerPort: MESH, protocol: 'TCP' },
                  { name: 'mesh-udp', containerPort: MESH, protocol: 'UDP' },
                ],
                resources: resourceRequirements(settings.resources),
                securityContext: containerSecurityContext(uid),
                livenessProbe: httpProbe('/-/healthy', 'web'),
                readinessProbe: httpProbe('/-/ready', 'web', { initialDelaySeconds: 3, periodSeconds: 5 }),
                volumeMounts: [
                  { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                  { name: 'data', mountPath: '/alertmanager' },
                  { name: 'tmp', mountPath: '/tmp' },
                  ...secrets.map((s) => ({ name: `secret-${s}`, mountPath: `${SECRETS_DIR}/${s}`, readOnly: true })),
                ],
              },
              // Alertmanager always serves POST /-/reload; a failed reload keeps the old configuration.
              configReloaderContainer({
                reloadUrl: `http://127.0.0.1:${WEB}/-/reload`,
                watch: [{ volume: 'config', mountPath: CONFIG_DIR }],
                ...(props.reloaderImage ? { image: props.reloaderImage } : {}),
              }),
            ],
            volumes: [
              { name: 'config', secret: { secretName: 'alertmanager-config' } },
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
              ...data.volumes,
              ...secrets.map((s) => ({ name: `secret-${s}`, secret: { secretName: s } })),
            ],
          },
        },
      },
    });

    if (this.replicas > 1) addDisruptionBudget(this, this.name, this.labels, this.selector);
    if (settings.ingress.enabled) {
      const controller = addIngress(this, { name: this.name, labels: this.labels, ingress: settings.ingress, servicePort: WEB });
      this.ingress.push({ peers: [controller], ports: [{ port: WEB }] });
    }
    this.ingress.push({ peers: [{ pods: this.selector }], ports: [{ port: WEB }, { port: MESH }, { port: MESH, protocol: 'UDP' }] });
    this.egress.push(
      { peers: [{ pods: this.selector }], ports: [{ port: MESH }, { port: MESH, protocol: 'UDP' }] },
      // Receivers are outside the cluster (PagerDuty, Slack, SMTP) or a webhook anywhere.
      { peers: [{ cidr: '0.0.0.0/0' }], ports: notificationPorts(props.alerting, this.teams) },
    );
    if (props.history) this.egress.push({ peers: [{ pods: props.history.selector }], ports: [{ port: props.history.port }] });
    this.addNetworkPolicy();
  }

  private podNames(): string[] {
    return Array.from({ length: this.replicas }, (_, i) => `${this.name}-${i}`);
  }

  readonly port = WEB;

  /** The in-cluster URL of the API behind the Service (Grafana's Alertmanager datasource). */
  get url(): string {
    return `http://${this.name}.${this.namespace}.svc.${this.clusterDomain}:${WEB}`;
  }

  /** Every replica's web address, to which Prometheus sends every alert. */
  get peerAddresses(): readonly string[] {
    return this.podNames().map((p) => `${p}.${this.clusterService}.${this.namespace}.svc.${this.clusterDomain}:${WEB}`);
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [{ jobName: 'alertmanager', namespace: this.namespace, serviceName: this.clusterService, portName: 'web' }];
  }

  /**
   * Which team owns which namespaces and services: Prometheus sets the
   * `team` label of their alerts from it (`prometheus.alertTo(alertmanager)`),
   * and this Alertmanager routes on that label.
   */
  get teamOwnership(): readonly TeamOwnership[] {
    return Object.entries(this.teams).map(([team, t]) => ({ team, namespaces: t.namespaces, services: t.services }));
  }

  /** The exact alertmanager.yml that goes into the Secret. */
  renderConfig(): string {
    const config = buildAlertmanagerConfig(this.alerting, this.history, this.teams);
    // The checks, the report and the runbook pages read this text again: they take the data from here.
    return rememberDocument(yamlText(config), config);
  }
}

function notificationPorts(alerting: Environment['alerting'], teams: Environment['teams']): { port: number }[] {
  const ports = new Set<number>([443]);
  for (const r of allChannels(alerting, teams)) {
    const smtp = r.email?.smarthost.split(':')[1];
    if (smtp) ports.add(Number(smtp));
    const hook = r.webhook?.url;
    if (hook) {
      const u = new URL(hook);
      ports.add(u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80);
    }
  }
  return [...ports].sort((a, b) => a - b).map((port) => ({ port }));
}
