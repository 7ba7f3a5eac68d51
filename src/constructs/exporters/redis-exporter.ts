import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { Image, Resources, SecretRef } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { assertExporterName, StackComponent } from '../common/component.js';
import type { Flow } from '../common/network.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';

/** The Redis server one exporter watches, and how it logs in. */
export interface RedisTarget {
  /** `host:port`. */
  readonly address: string;
  readonly tls: boolean;
  /** ACL user. @default - the default user */
  readonly user?: string;
  /** The Secret key holding the password. @default - no password */
  readonly password?: SecretRef;
}

export interface RedisExporterProps {
  readonly namespace: string;
  readonly instance: string;
  /** Names the exporter (`redis-exporter-<name>`) and its scrape job (`redis-<name>`). */
  readonly name: string;
  readonly image: Image;
  readonly resources: Resources;
  readonly target: RedisTarget;
  /** The NetworkPolicy flow to the server. */
  readonly redisFlow: Flow;
}

const PORT = 9121;

/**
 * oliver006/redis_exporter for one Redis server: availability, clients,
 * memory, evictions, rejected connections and persistence. Only Prometheus
 * may reach it, and it reaches only its server.
 */
export class RedisExporter extends StackComponent {
  readonly jobName: string;

  constructor(scope: Construct, id: string, props: RedisExporterProps) {
    super(scope, id, {
      name: `redis-exporter-${props.name}`,
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'cache-metrics',
      ports: [{ port: PORT }],
    });
    assertExporterName(props.name);
    this.jobName = `redis-${props.name}`;
    const uid = IMAGE_UIDS.redisExporter;
    const t = props.target;
    this.addServiceAccount();
    const env: k8s.EnvVar[] = [
      { name: 'REDIS_ADDR', value: `${t.tls ? 'rediss' : 'redis'}://${t.address}` },
      { name: 'REDIS_EXPORTER_WEB_LISTEN_ADDRESS', value: `:${PORT}` },
      { name: 'REDIS_EXPORTER_LOG_FORMAT', value: 'json' },
    ];
    if (t.user !== undefined) env.push({ name: 'REDIS_USER', value: t.user });
    if (t.password) env.push({ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: t.password.secretName, key: t.password.key } } });
    this.addExporter({
      port: PORT,
      uid,
      image: props.image,
      resources: props.resources,
      env,
      // /health answers without touching Redis; a probe must not count as a client.
      healthPath: '/health',
      readinessDelaySeconds: 3,
    });
    this.egress.push(props.redisFlow);
    this.addNetworkPolicy();
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [{ jobName: this.jobName, namespace: this.namespace, serviceName: this.name, portName: 'metrics' }];
  }
}
