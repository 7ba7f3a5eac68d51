import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { Environment, Image } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { addDisruptionBudget, spreadAffinity } from '../common/availability.js';
import { checksum } from '../common/checksum.js';
import { ConnectedComponent } from './connected.js';
import { containerSecurityContext, podSecurityContext, resourceRequirements } from '../common/security.js';
import { dataVolume } from '../common/storage.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';
import { secretEnv } from './tool-pod.js';
import { yamlText } from '../../config/yaml-text.js';

export type ElasticsearchSettings = Environment['components']['elasticsearch'];

export interface ElasticsearchProps {
  readonly namespace: string;
  readonly instance: string;
  readonly settings: ElasticsearchSettings;
  readonly image: Image;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
}

const HTTP = 9200;
const TRANSPORT = 9300;
const HOME = '/usr/share/elasticsearch';
const CERTS = `${HOME}/config/certs`;

/** Bytes of a Kubernetes memory quantity (`1Gi`, `1536Mi`, `2G`). */
export function memoryBytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (!m) throw new Error(`unreadable memory quantity "${q}"`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

/**
 * The JVM heap in MiB: a share of the container's memory limit, the rest left
 * to the page cache and off-heap buffers, and below 31 GiB so that the JVM
 * keeps compressed object pointers.
 */
export function heapMiB(memoryLimit: string, percent: number): number {
  const mib = Math.floor((memoryBytes(memoryLimit) / 2 ** 20) * (percent / 100));
  if (mib < 256) throw new Error(`elasticsearch heap would be ${mib} MiB (${percent}% of ${memoryLimit}); raise the memory limit`);
  return Math.min(mib, 31 * 1024);
}

/**
 * Elasticsearch as a StatefulSet with security on: every node master-eligible
 * and holding data, transport TLS from a Secret when there is more than one
 * node, no mmap (so no privileged sysctl), heap from the memory limit, and
 * its whole configuration from a ConfigMap copied into a writable folder.
 */
export class Elasticsearch extends ConnectedComponent {
  readonly port = HTTP;
  readonly replicas: number;
  readonly users: ElasticsearchSettings['users'];
  readonly image: Image;
  private readonly clusterDomain: string;

  constructor(scope: Construct, id: string, props: ElasticsearchProps) {
    super(scope, id, {
      name: 'elasticsearch',
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'logs-storage',
      ports: [{ port: HTTP }],
    });
    const { settings } = props;
    this.replicas = settings.replicas;
    this.users = settings.users;
    this.image = props.image;
    this.clusterDomain = props.clusterDomain ?? 'cluster.local';
    const uid = IMAGE_UIDS.elasticsearch;
    const replicas = settings.replicas;
    if (replicas > 1 && !settings.transportTls) {
      throw new Error(`elasticsearch with ${replicas} replicas needs transportTls: Elasticsearch 8 refuses a multi-node cluster without transport TLS`);
    }
    const heap = heapMiB(settings.resources.limits.memory, settings.heapPercent);
    const headlessName = `${this.name}-headless`;

    this.addServiceAccount();
    const files = {
      'elasticsearch.yml': this.renderConfig(props.instance, headlessName),
      // Heap comes from ES_JAVA_OPTS; the rest mirrors the image's own jvm.options.
      'jvm.options': [
        '-XX:+UseG1GC',
        '-Djava.io.tmpdir=${ES_TMPDIR}',
        '-XX:+HeapDumpOnOutOfMemoryError',
        '-XX:+ExitOnOutOfMemoryError',
        '-XX:HeapDumpPath=data',
        '-XX:ErrorFile=logs/hs_err_pid%p.log',
        '',
      ].join('\n'),
      // Console only, in ECS JSON: the container's stdout is what Filebeat collects.
      'log4j2.properties': [
        'status = error',
        'appender.console.type = Console',
        'appender.console.name = console',
        'appender.console.layout.type = ECSJsonLayout',
        'appender.console.layout.dataset = elasticsearch.server',
        'rootLogger.level = info',
        'rootLogger.appenderRef.console.ref = console',
        '',
      ].join('\n'),
    };
    new k8s.KubeConfigMap(this, 'Config', { metadata: { name: 'elasticsearch-config', labels: this.labels }, data: files });

    new k8s.KubeService(this, 'HeadlessService', {
      metadata: { name: headlessName, labels: this.labels },
      spec: {
        clusterIp: 'None',
        // Nodes must find each other before any of them is ready.
        publishNotReadyAddresses: true,
        selector: this.selector,
        ports: [
          { name: 'http', port: HTTP, targetPort: k8s.IntOrString.fromString('http') },
          { name: 'transport', port: TRANSPORT, targetPort: k8s.IntOrString.fromString('transport') },
        ],
      },
    });
    new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: { type: 'ClusterIP', selector: this.selector, ports: [{ name: 'http', port: HTTP, targetPort: k8s.IntOrString.fromString('http') }] },
    });

    const data = dataVolume('data', settings.storage, this.labels);
    const image = `${props.image.repository}:${props.image.tag}`;
    const writable: k8s.VolumeMount[] = [
      { name: 'data', mountPath: `${HOME}/data` },
      { name: 'logs', mountPath: `${HOME}/logs` },
      { name: 'config', mountPath: `${HOME}/config` },
      { name: 'tmp', mountPath: '/tmp' },
    ];
    const tls = settings.transportTls;
    const readiness: k8s.Probe = {
      // Ready once this node answers an authenticated request; the cluster's health is the exporter's business.
      exec: {
        command: [
          '/bin/bash',
          '-c',
          'code="$(curl -s -o /dev/null -w "%{http_code}" -u "elastic:$ELASTIC_PASSWORD" "http://127.0.0.1:9200/_cluster/health?local=true")"; [ "$code" = 200 ]',
        ],
      },
      initialDelaySeconds: 20,
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 3,
    };

    new k8s.KubeStatefulSet(this, 'Resource', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        serviceName: headlessName,
        replicas,
        // Nodes start together so that the initial masters can elect one another.
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: this.selector },
        ...(data.claims.length > 0 ? { volumeClaimTemplates: data.claims } : {}),
        template: {
          metadata: { labels: this.labels, annotations: { 'checksum/config': checksum(...Object.values(files)) } },
          spec: {
            ...this.podBasics(uid, replicas),
            terminationGracePeriodSeconds: 120,
            enableServiceLinks: false,
            initContainers: [
              {
                // The keystore is written into the config folder, so it must be writable: copy the ConfigMap into an emptyDir.
                name: 'config',
                image,
                command: ['/bin/bash', '-c', `cp /mnt/config/* ${HOME}/config/`],
                resources: resourceRequirements({ requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } }),
                securityContext: containerSecurityContext(uid),
                volumeMounts: [{ name: 'config-source', mountPath: '/mnt/config', readOnly: true }, ...writable],
              },
            ],
            containers: [
              {
                name: 'elasticsearch',
                image,
                env: [
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'ES_JAVA_OPTS', value: `-Xms${heap}m -Xmx${heap}m` },
                  // The image's entrypoint puts it into the keystore as the bootstrap password of the elastic user.
                  secretEnv('ELASTIC_PASSWORD', settings.users.elastic),
                ],
                ports: [
                  { name: 'http', containerPort: HTTP },
                  { name: 'transport', containerPort: TRANSPORT },
                ],
                resources: resourceRequirements(settings.resources),
                securityContext: containerSecurityContext(uid),
                livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('transport') }, initialDelaySeconds: 60, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 6 },
                readinessProbe: readiness,
                volumeMounts: [...writable, ...(tls ? [{ name: 'transport-tls', mountPath: CERTS, readOnly: true }] : [])],
              },
            ],
            volumes: [
              { name: 'config-source', configMap: { name: 'elasticsearch-config' } },
              { name: 'config', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
              { name: 'logs', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
              ...(tls ? [{ name: 'transport-tls', secret: { secretName: tls.secretName } }] : []),
              ...data.volumes,
            ],
          },
        },
      },
    });

    if (replicas > 1) addDisruptionBudget(this, this.name, this.labels, this.selector);
    // Nodes talk to each other on the transport port, and the readiness probe uses HTTP locally.
    this.ingress.push({ peers: [{ pods: this.selector }], ports: [{ port: HTTP }, { port: TRANSPORT }] });
    this.egress.push({ peers: [{ pods: this.selector }], ports: [{ port: HTTP }, { port: TRANSPORT }] });
    this.addNetworkPolicy();
  }

  /** The in-cluster URL clients use (plain HTTP inside the namespace; NetworkPolicy limits who may connect). */
  get url(): string {
    return `http://${this.name}.${this.namespace}.svc.${this.clusterDomain}:${HTTP}`;
  }

  /** Replicas of each shard: one when there is a second node to hold it. */
  get shardReplicas(): number {
    return Math.min(1, this.replicas - 1);
  }

  /** Elasticsearch's metrics come from the exporter, not from the nodes. */
  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [];
  }

  /** Lets a client's pods reach the HTTP port, and opens the client's egress to it. */
  connect(client: { readonly selector: Record<string, string>; allowTo(peer: { readonly selector: Record<string, string> }, port: number): void }): void {
    this.allowFrom(client, [{ port: HTTP }]);
    client.allowTo(this, HTTP);
  }

  private renderConfig(instance: string, headless: string): string {
    const multi = this.replicas > 1;
    const config: Record<string, unknown> = {
      'cluster.name': `obstack-${instance}`,
      'node.name': '${POD_NAME}',
      'network.host': '0.0.0.0',
      // mmap would need vm.max_map_count raised on the node by a privileged init container; niofs needs nothing.
      'node.store.allow_mmap': false,
      'xpack.security.enabled': true,
      'xpack.security.enrollment.enabled': false,
      'xpack.security.http.ssl.enabled': false,
      'xpack.ml.enabled': false,
      'ingest.geoip.downloader.enabled': false,
      'action.destructive_requires_name': true,
    };
    if (multi) {
      Object.assign(config, {
        'discovery.seed_hosts': [`${headless}.${this.namespace}.svc.${this.clusterDomain}`],
        'cluster.initial_master_nodes': Array.from({ length: this.replicas }, (_, i) => `${this.name}-${i}`),
        'xpack.security.transport.ssl.enabled': true,
        'xpack.security.transport.ssl.verification_mode': 'certificate',
        'xpack.security.transport.ssl.key': 'certs/tls.key',
        'xpack.security.transport.ssl.certificate': 'certs/tls.crt',
        'xpack.security.transport.ssl.certificate_authorities': ['certs/ca.crt'],
      });
    } else {
      config['discovery.type'] = 'single-node';
    }
    return yamlText(config);
  }
}
