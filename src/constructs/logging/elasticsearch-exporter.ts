import type { Construct } from 'constructs';
import type { Image, Resources } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
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
    this.addExporter({
      port: PORT,
      uid,
      image: props.image,
      resources: props.resources,
      // Snapshot statistics (age of the latest good snapshot, state of the last one) when the cluster takes snapshots.
      args: [`--es.uri=${es.url}`, '--es.all', '--es.indices', '--es.ilm', ...(es.snapshots ? ['--collector.snapshots'] : []), `--web.listen-address=:${PORT}`],
      env: [
        { name: 'ES_USERNAME', value: 'monitoring' },
        { name: 'ES_PASSWORD', valueFrom: { secretKeyRef: { name: es.users.monitoring.secretName, key: es.users.monitoring.key } } },
      ],
      healthPath: '/healthz',
      readinessDelaySeconds: 5,
    });
    es.connect(this);
    this.addNetworkPolicy();
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [{ jobName: 'elasticsearch', namespace: this.namespace, serviceName: this.name, portName: 'metrics' }];
  }
}
