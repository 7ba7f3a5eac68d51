import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { stringify } from 'yaml';
import type { Environment, Image, LogsConfig } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { addDisruptionBudget, spreadAffinity } from '../common/availability.js';
import { checksum } from '../common/checksum.js';
import { containerSecurityContext, httpProbe, podSecurityContext, resourceRequirements } from '../common/security.js';
import { dataVolume } from '../common/storage.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';
import { ConnectedComponent } from './connected.js';
import { heapMiB, type Elasticsearch } from './elasticsearch.js';
import { LOG_STREAMS, logMappings } from './index-setup.js';
import { normalizationSteps } from './log-shapes.js';
import { renderFilters } from './logstash-filters.js';
import { renderDeadLetterPipeline, renderPipeline } from './pipeline.js';
import { templateSource } from '../../../templates/index.js';
import { secretEnv } from './tool-pod.js';
import { yamlText } from '../../config/yaml-text.js';

export type LogstashSettings = Environment['components']['logstash'];

export interface LogstashProps {
  readonly namespace: string;
  readonly instance: string;
  readonly settings: LogstashSettings;
  readonly logs: LogsConfig;
  readonly image: Image;
  readonly exporterImage: Image;
  /** The handlebars source of the pipeline (templates/logstash/pipeline.conf.hbs). */
  readonly pipelineTemplate: string;
  /**
   * The handlebars source of the pipeline that reads the dead letter queue.
   * @default - templates/logstash/dead-letters.conf.hbs
   */
  readonly deadLetterTemplate?: string;
}

export const BEATS_PORT = 5044;
const API_PORT = 9600;
export const LOGSTASH_METRICS_PORT = 9198;
const EXPORTER_PORT = LOGSTASH_METRICS_PORT;
const HOME = '/usr/share/logstash';
/** Under path.data, on the data volume: the root filesystem is read-only. */
const DEAD_LETTER_PATH = `${HOME}/data/dead_letter_queue`;
/** The cap of the dead letter queue; beyond it the oldest letters are dropped (and counted). */
export const DEAD_LETTER_QUEUE_MAX_BYTES = '512mb';
export const MAIN_PIPELINE = 'main';
export const DEAD_LETTER_PIPELINE = 'dead-letters';

/**
 * Logstash as a StatefulSet, so that each replica keeps its own data folder
 * (and persistent queue) across restarts: beats in, JSON decoding, ECS
 * normalisation, personal data removed or hashed, data streams out.
 */
export class Logstash extends ConnectedComponent {
  readonly beatsPort = BEATS_PORT;
  private readonly props: LogstashProps;
  private rendered = '';

  constructor(scope: Construct, id: string, props: LogstashProps) {
    super(scope, id, {
      name: 'logstash',
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'logs-pipeline',
      ports: [{ port: BEATS_PORT }],
    });
    this.props = props;
    this.addServiceAccount();
    new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        type: 'ClusterIP',
        selector: this.selector,
        ports: [
          { name: 'beats', port: BEATS_PORT, targetPort: k8s.IntOrString.fromString('beats') },
          { name: 'metrics', port: EXPORTER_PORT, targetPort: k8s.IntOrString.fromString('metrics') },
        ],
      },
    });
    this.addNetworkPolicy();
  }

  /** Writes to `elasticsearch`: renders the pipeline and creates the StatefulSet. Call once. */
  shipTo(elasticsearch: Elasticsearch): void {
    const { settings, logs } = this.props;
    const uid = IMAGE_UIDS.logstash;
    const pipeline = renderPipeline(this.props.pipelineTemplate, {
      beatsPort: BEATS_PORT,
      elasticsearchUrl: elasticsearch.url,
      user: 'logstash_writer',
      logsDataset: LOG_STREAMS.logs.dataset,
      auditDataset: LOG_STREAMS.audit.dataset,
      dataStreamNamespace: 'default',
      labels: { environment: this.props.instance, ...logs.labels },
      personalData: logs.personalData,
      normalization: renderFilters(normalizationSteps(logMappings().properties as Record<string, unknown>)),
    });
    this.rendered = pipeline;
    const deadLetters = renderDeadLetterPipeline(this.props.deadLetterTemplate ?? templateSource('logstash/dead-letters.conf.hbs'), {
      queuePath: DEAD_LETTER_PATH,
      sourcePipeline: MAIN_PIPELINE,
      elasticsearchUrl: elasticsearch.url,
      user: 'logstash_writer',
      deadLetterDataset: LOG_STREAMS.deadLetters.dataset,
      dataStreamNamespace: 'default',
    });
    const files = {
      'logstash.yml': yamlText(
        {
          'api.http.host': '0.0.0.0',
          'api.http.port': API_PORT,
          'path.data': `${HOME}/data`,
          'config.support_escapes': true,
          'config.reload.automatic': false,
          'pipeline.ecs_compatibility': 'v8',
          'queue.type': settings.queue.type,
          'queue.max_bytes': settings.queue.maxBytes,
          // Documents Elasticsearch refuses are kept here, read by the dead-letters pipeline.
          'dead_letter_queue.enable': true,
          'path.dead_letter_queue': DEAD_LETTER_PATH,
          'dead_letter_queue.max_bytes': DEAD_LETTER_QUEUE_MAX_BYTES,
          'dead_letter_queue.storage_policy': 'drop_older',
          'xpack.monitoring.enabled': false,
        }),
      'pipelines.yml': stringify([
        { 'pipeline.id': MAIN_PIPELINE, 'path.config': `${HOME}/pipeline/logstash.conf` },
        // One worker and a memory queue: the dead letter queue on disk is its buffer.
        { 'pipeline.id': DEAD_LETTER_PIPELINE, 'path.config': `${HOME}/pipeline/dead-letters.conf`, 'pipeline.workers': 1, 'queue.type': 'memory' },
      ]),
      'logstash.conf': pipeline,
      'dead-letters.conf': deadLetters,
    };
    new k8s.KubeConfigMap(this, 'Config', { metadata: { name: this.name, labels: this.labels }, data: files });

    const data = dataVolume('data', settings.storage, this.labels);
    const image = `${this.props.image.repository}:${this.props.image.tag}`;
    const heap = heapMiB(settings.resources.limits.memory, 50);
    new k8s.KubeStatefulSet(this, 'Resource', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        serviceName: this.name,
        replicas: settings.replicas,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: this.selector },
        ...(data.claims.length > 0 ? { volumeClaimTemplates: data.claims } : {}),
        template: {
          metadata: { labels: this.labels, annotations: { 'checksum/config': checksum(...Object.values(files)) } },
          spec: {
            ...this.podBasics(uid, settings.replicas),
            // A persisted queue is flushed on shutdown; give it time.
            terminationGracePeriodSeconds: 120,
            initContainers: [
              {
                // The image's entrypoint rewrites logstash.yml and Logstash writes its keystore into config/: make it a writable copy.
                name: 'config',
                image,
                command: [
                  '/bin/bash',
                  '-c',
                  `cp -a ${HOME}/config/. /mnt/config/ && cp /mnt/source/logstash.yml /mnt/source/pipelines.yml /mnt/config/`,
                ],
                resources: resourceRequirements({ requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } }),
                securityContext: containerSecurityContext(uid),
                volumeMounts: [
                  { name: 'config-source', mountPath: '/mnt/source', readOnly: true },
                  { name: 'config', mountPath: '/mnt/config' },
                  { name: 'data', mountPath: `${HOME}/data` },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            containers: [
              {
                name: 'logstash',
                image,
                env: [
                  { name: 'LS_JAVA_OPTS', value: `-Xms${heap}m -Xmx${heap}m` },
                  secretEnv('ELASTICSEARCH_PASSWORD', elasticsearch.users.logstash),
                  secretEnv('PII_HASH_KEY', logs.hashKey),
                ],
                ports: [
                  { name: 'beats', containerPort: BEATS_PORT },
                  { name: 'api', containerPort: API_PORT },
                ],
                resources: resourceRequirements(settings.resources),
                securityContext: containerSecurityContext(uid),
                livenessProbe: httpProbe('/', 'api', { initialDelaySeconds: 60, periodSeconds: 20, failureThreshold: 6 }),
                readinessProbe: httpProbe('/', 'api', { initialDelaySeconds: 20, periodSeconds: 10 }),
                volumeMounts: [
                  { name: 'config', mountPath: `${HOME}/config` },
                  { name: 'config-source', mountPath: `${HOME}/pipeline/logstash.conf`, subPath: 'logstash.conf', readOnly: true },
                  { name: 'config-source', mountPath: `${HOME}/pipeline/dead-letters.conf`, subPath: 'dead-letters.conf', readOnly: true },
                  { name: 'data', mountPath: `${HOME}/data` },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
              {
                // Logstash's monitoring API as Prometheus metrics, read over localhost.
                name: 'exporter',
                image: `${this.props.exporterImage.repository}:${this.props.exporterImage.tag}`,
                env: [
                  { name: 'LOGSTASH_URL', value: `http://127.0.0.1:${API_PORT}` },
                  { name: 'PORT', value: String(EXPORTER_PORT) },
                ],
                ports: [{ name: 'metrics', containerPort: EXPORTER_PORT }],
                resources: resourceRequirements(settings.exporter.resources),
                securityContext: containerSecurityContext(IMAGE_UIDS.logstashExporter),
                livenessProbe: httpProbe('/healthcheck', 'metrics'),
                readinessProbe: httpProbe('/healthcheck', 'metrics', { initialDelaySeconds: 5 }),
              },
            ],
            volumes: [
              { name: 'config-source', configMap: { name: this.name } },
              { name: 'config', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
              ...data.volumes,
            ],
          },
        },
      },
    });
    if (settings.replicas > 1) addDisruptionBudget(this, this.name, this.labels, this.selector);
    elasticsearch.connect(this);
  }

  /** The rendered pipeline (empty until shipTo). */
  get pipeline(): string {
    return this.rendered;
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [{ jobName: 'logstash', namespace: this.namespace, serviceName: this.name, portName: 'metrics' }];
  }
}
