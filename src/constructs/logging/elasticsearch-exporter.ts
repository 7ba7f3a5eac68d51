import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { Image, Resources } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { containerSecurityContext, httpProbe, podSecurityContext, resourceRequirements } from '../common/security.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';
import { ConnectedComponent } from './connected.js';
import type { Elasticsearch } from './elasticsearch.js';

const PORT = 9114;

/** prometheus-community's elasticsearch_exporter: cluster, node, index and ILM statistics as metrics. */
export class ElasticsearchExporter extends ConnectedComponent {
  constructor(
    scope: Construct,
    id: string,
    props: { namespace: string; instance: string; image: Image; resources: Resources; elasticsearch: Elasticsearch },
  ) {
    super(scope, id, {
      name: 'elasticsearch-exporter',
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'logs-metrics',
      ports: [{ port: PORT }],
    });
    const uid = IMAGE_UIDS.elasticsearchExporter;
    const es = props.elasticsearch;
    this.addServiceAccount();
    new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: { type: 'ClusterIP', selector: this.selector, ports: [{ name: 'metrics', port: PORT, targetPort: k8s.IntOrString.fromString('metrics') }] },
    });
    new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: this.selector },
        template: {
          metadata: { labels: this.labels },
          spec: {
            ...this.podBasics(uid),
            containers: [
              {
                name: 'exporter',
                image: `${props.image.repository}:${props.image.tag}`,
                args: [`--es.uri=${es.url}`, '--es.all', '--es.indices', '--es.ilm', `--web.listen-address=:${PORT}`],
                env: [
                  { name: 'ES_USERNAME', value: 'monitoring' },
                  { name: 'ES_PASSWORD', valueFrom: { secretKeyRef: { name: es.users.monitoring.secretName, key: es.users.monitoring.key } } },
                ],
                ports: [{ name: 'metrics', containerPort: PORT }],
                resources: resourceRequirements(props.resources),
                securityContext: containerSecurityContext(uid),
                livenessProbe: httpProbe('/healthz', 'metrics'),
                readinessProbe: httpProbe('/healthz', 'metrics', { initialDelaySeconds: 5 }),
              },
            ],
          },
        },
      },
    });
    es.connect(this);
    this.addNetworkPolicy();
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [{ jobName: 'elasticsearch', namespace: this.namespace, serviceName: this.name, portName: 'metrics' }];
  }
}
