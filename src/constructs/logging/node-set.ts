import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { ElasticsearchSnapshots, Resources, SecretRef, Storage } from '../../config/index.js';
import { yamlText } from '../../config/yaml-text.js';
import { checksum } from '../common/checksum.js';
import { containerSecurityContext, resourceRequirements } from '../common/security.js';
import { dataVolume } from '../common/storage.js';
import { keystoreInit, repositoryNodeSettings } from './snapshots.js';
import { secretEnv } from './tool-pod.js';

/**
 * One set of Elasticsearch nodes: its configuration files and its StatefulSet.
 * The cluster's nodes come from one set (every node does everything) or, with
 * hot/warm tiers, from two that differ only in their roles, size and volumes.
 */

export const HTTP = 9200;
export const TRANSPORT = 9300;
const HOME = '/usr/share/elasticsearch';
const CERTS = `${HOME}/config/certs`;

/** What elasticsearch.yml says of one set of nodes. */
export interface NodeConfigOptions {
  readonly cluster: string;
  readonly snapshots?: ElasticsearchSnapshots;
  /** `node.roles`; unset, a node has every role. */
  readonly roles?: readonly string[];
  /** Unset: a single-node cluster (`discovery.type: single-node`). */
  readonly discovery?: {
    readonly seedHosts: string;
    /** Only on master-eligible nodes: Elasticsearch's bootstrap docs say not to set it on the others. */
    readonly initialMasters?: readonly string[];
  };
}

/** elasticsearch.yml: security on, no mmap, transport TLS whenever the cluster has more than one node. */
export function nodeConfig(o: NodeConfigOptions): string {
  const config: Record<string, unknown> = {
    'cluster.name': o.cluster,
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
    ...(o.snapshots ? repositoryNodeSettings(o.snapshots) : {}),
    ...(o.roles ? { 'node.roles': [...o.roles] } : {}),
  };
  if (o.discovery) {
    Object.assign(config, {
      'discovery.seed_hosts': [o.discovery.seedHosts],
      ...(o.discovery.initialMasters ? { 'cluster.initial_master_nodes': [...o.discovery.initialMasters] } : {}),
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

/** The files of a set's ConfigMap: elasticsearch.yml, jvm.options and log4j2.properties. */
export function nodeFiles(elasticsearchYml: string): Record<string, string> {
  return {
    'elasticsearch.yml': elasticsearchYml,
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
}

export interface NodeSetProps {
  /** The StatefulSet's name, and its pods' prefix. */
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;
  readonly replicas: number;
  /** The headless Service that governs the StatefulSet. */
  readonly serviceName: string;
  /** `repository:tag`. */
  readonly image: string;
  readonly uid: number;
  readonly resources: Resources;
  readonly heapMiB: number;
  readonly storage: Storage;
  /** The ConfigMap holding `files`. */
  readonly configMap: string;
  readonly files: Record<string, string>;
  /** Service account, security context and anti-affinity of the pod. */
  readonly podBasics: Pick<k8s.PodSpec, 'serviceAccountName' | 'automountServiceAccountToken' | 'securityContext' | 'affinity'>;
  readonly elasticPassword: SecretRef;
  readonly transportTls?: { readonly secretName: string };
  readonly snapshots?: ElasticsearchSnapshots;
}

/**
 * The StatefulSet of one set of nodes: the ConfigMap copied into a writable
 * config folder (the keystore is written there), the repository credentials
 * added to the keystore when there are snapshots, the heap from the memory
 * limit, and ready once the node answers an authenticated request.
 */
export function nodeStatefulSet(scope: Construct, id: string, p: NodeSetProps): k8s.KubeStatefulSet {
  const data = dataVolume('data', p.storage, p.labels);
  const writable: k8s.VolumeMount[] = [
    { name: 'data', mountPath: `${HOME}/data` },
    { name: 'logs', mountPath: `${HOME}/logs` },
    { name: 'config', mountPath: `${HOME}/config` },
    { name: 'tmp', mountPath: '/tmp' },
  ];
  const tls = p.transportTls;
  const keystore = p.snapshots ? keystoreInit(p.snapshots, { image: p.image, uid: p.uid, writable }) : undefined;
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
  return new k8s.KubeStatefulSet(scope, id, {
    metadata: { name: p.name, labels: p.labels },
    spec: {
      serviceName: p.serviceName,
      replicas: p.replicas,
      // Nodes start together so that the initial masters can elect one another.
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: p.selector },
      ...(data.claims.length > 0 ? { volumeClaimTemplates: data.claims } : {}),
      template: {
        metadata: { labels: p.labels, annotations: { 'checksum/config': checksum(...Object.values(p.files)) } },
        spec: {
          ...p.podBasics,
          terminationGracePeriodSeconds: 120,
          enableServiceLinks: false,
          initContainers: [
            {
              // The keystore is written into the config folder, so it must be writable: copy the ConfigMap into an emptyDir.
              name: 'config',
              image: p.image,
              command: ['/bin/bash', '-c', `cp /mnt/config/* ${HOME}/config/`],
              resources: resourceRequirements({ requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } }),
              securityContext: containerSecurityContext(p.uid),
              volumeMounts: [{ name: 'config-source', mountPath: '/mnt/config', readOnly: true }, ...writable],
            },
            // The repository's credentials are secure settings: they reach Elasticsearch only through the keystore.
            ...(keystore ? [keystore.container] : []),
          ],
          containers: [
            {
              name: 'elasticsearch',
              image: p.image,
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'ES_JAVA_OPTS', value: `-Xms${p.heapMiB}m -Xmx${p.heapMiB}m` },
                // The image's entrypoint puts it into the keystore as the bootstrap password of the elastic user.
                secretEnv('ELASTIC_PASSWORD', p.elasticPassword),
              ],
              ports: [
                { name: 'http', containerPort: HTTP },
                { name: 'transport', containerPort: TRANSPORT },
              ],
              resources: resourceRequirements(p.resources),
              securityContext: containerSecurityContext(p.uid),
              livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('transport') }, initialDelaySeconds: 60, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 6 },
              readinessProbe: readiness,
              volumeMounts: [...writable, ...(tls ? [{ name: 'transport-tls', mountPath: CERTS, readOnly: true }] : [])],
            },
          ],
          volumes: [
            { name: 'config-source', configMap: { name: p.configMap } },
            { name: 'config', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
            { name: 'logs', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
            { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
            ...(tls ? [{ name: 'transport-tls', secret: { secretName: tls.secretName } }] : []),
            ...(keystore ? [keystore.volume] : []),
            ...data.volumes,
          ],
        },
      },
    },
  });
}
