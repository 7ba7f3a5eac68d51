import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CheckLevel, lintRuleFiles, parseRuleFileText, type RuleFinding } from '../../src/validate/index.js';
import { corpusDir, corpusRuleFiles } from '../support/corpus.js';

/**
 * `obstack check rules --no-catalog` over the whole corpus (kube-prometheus and
 * awesome-prometheus-alerts: 120 files, 1,188 rules), every finding listed with
 * why it is right: a real defect, or an info-level note on style. A new finding,
 * or one that goes away, fails the test. House policy (no runbook_url) is kept apart.
 */
interface ExpectedFindings {
  readonly check: string;
  readonly level: CheckLevel;
  readonly why: string;
  /** Rules by file (relative to the corpus), once per finding. */
  readonly rules: Readonly<Record<string, readonly string[]>>;
}

const EXPECTED: readonly ExpectedFindings[] = [
  {
    check: 'promql/regexp',
    level: 'info',
    why: "kube-prometheus's empty criticalIntegrationsRegex placeholder: integration=~\".*\" matches everything and integration!~\".*\" nothing — a style note (the second alert is a placeholder that cannot fire)",
    rules: {
      'kube-prometheus/rules/alertmanager-main-rules.yaml': ['AlertmanagerClusterFailedToSendAlerts', 'AlertmanagerClusterFailedToSendAlerts'],
    },
  },
  {
    check: 'alerts/template',
    level: 'warning',
    why: 'the description reads $labels.job, but the query keeps only namespace, service (and integration): it renders empty — a real defect of the text',
    rules: {
      'kube-prometheus/rules/alertmanager-main-rules.yaml': ['AlertmanagerClusterFailedToSendAlerts', 'AlertmanagerClusterFailedToSendAlerts', 'AlertmanagerConfigInconsistent', 'AlertmanagerClusterDown', 'AlertmanagerClusterCrashlooping'],
    },
  },
  {
    check: 'alerts/for',
    level: 'info',
    why: "`for: 0m` (and one `for: 0s`) is Prometheus's default: a style note that the line can go",
    rules: {
      'kube-prometheus/rules/kubernetes-monitoring-rules.yaml': ['KubeNodeEviction'],
      'awesome-prometheus-alerts/dist/rules/apache/lusitaniae-apache-exporter.yml': ['ApacheDown', 'ApacheRestart'],
      'awesome-prometheus-alerts/dist/rules/apc-ups/apcupsd_exporter.yml': ['ApcUpsBatteryNearlyEmpty', 'ApcUpsLessThan15MinutesOfBatteryTimeRemaining', 'ApcUpsAcInputOutage', 'ApcUpsLowBatteryVoltage', 'ApcUpsHighLoad'],
      'awesome-prometheus-alerts/dist/rules/aws-cloudwatch/prometheus-cloudwatch-exporter.yml': ['CloudwatchApiHighRequestRate', 'AwsSqsMessageAgeTooOld'],
      'awesome-prometheus-alerts/dist/rules/azure/azure-metrics-exporter.yml': ['AzureExporterRequestErrors', 'AzureApiReadRateLimitApproaching', 'AzureApiWriteRateLimitApproaching'],
      'awesome-prometheus-alerts/dist/rules/blackbox/blackbox-exporter.yml': ['BlackboxConfigurationReloadFailure', 'BlackboxSslCertificateWillExpireSoon', 'BlackboxSslCertificateWillExpireVerySoon', 'BlackboxSslCertificateExpired'],
      'awesome-prometheus-alerts/dist/rules/caddy/embedded-exporter.yml': ['CaddyReverseProxyDown'],
      'awesome-prometheus-alerts/dist/rules/cassandra/criteo-cassandra-exporter.yml': ['CassandraHintsCount', 'CassandraStorageExceptions(criteo)', 'CassandraTombstoneDump(criteo)', 'CassandraClientRequestUnavailableWrite(criteo)', 'CassandraClientRequestUnavailableRead(criteo)', 'CassandraClientRequestWriteFailure(criteo)', 'CassandraClientRequestReadFailure(criteo)'],
      'awesome-prometheus-alerts/dist/rules/cassandra/instaclustr-cassandra-exporter.yml': ['CassandraManyCompactionTasksArePending', 'CassandraStorageExceptions(instaclustr)'],
      'awesome-prometheus-alerts/dist/rules/ceph/embedded-exporter.yml': ['CephPgDown', 'CephPgIncomplete', 'CephPgInconsistent'],
      'awesome-prometheus-alerts/dist/rules/clickhouse/embedded-exporter.yml': ['ClickhouseReplicaErrors', 'ClickhouseNoAvailableReplicas', 'ClickhouseNoLiveReplicas', 'ClickhouseAuthenticationFailures', 'ClickhouseAccessDeniedErrors'],
      'awesome-prometheus-alerts/dist/rules/cloudflare/lablabs-cloudflare-exporter.yml': ['CloudflareHttp4xxErrorRate', 'CloudflareHttp5xxErrorRate'],
      'awesome-prometheus-alerts/dist/rules/consul/consul-exporter.yml': ['ConsulMissingMasterNode', 'ConsulAgentUnhealthy'],
      'awesome-prometheus-alerts/dist/rules/coredns/embedded-exporter.yml': ['CorednsPanicCount'],
      'awesome-prometheus-alerts/dist/rules/cortex/embedded-exporter.yml': ['CortexRulerConfigurationReloadFailure', 'CortexNotConnectedToAlertmanager', 'CortexNotificationsAreBeingDropped', 'CortexNotificationErrors', 'CortexIngesterUnhealthy'],
      'awesome-prometheus-alerts/dist/rules/digitalocean/digitalocean-exporter.yml': ['DigitaloceanFloatingIpNotAssigned', 'DigitaloceanActiveIncidents', 'DigitaloceanDropletLimitApproaching'],
      'awesome-prometheus-alerts/dist/rules/docker-containers/google-cadvisor.yml': ['ContainerKilled', 'ContainerHighLowChangeCpuUsage'],
      'awesome-prometheus-alerts/dist/rules/elasticsearch/prometheus-community-elasticsearch-exporter.yml': ['ElasticsearchDiskOutOfSpace', 'ElasticsearchClusterRed', 'ElasticsearchClusterYellow', 'ElasticsearchRelocatingShards', 'ElasticsearchInitializingShards', 'ElasticsearchNoNewDocuments'],
      'awesome-prometheus-alerts/dist/rules/envoy/embedded-exporter.yml': ['EnvoyDownstreamConnectionsOverflowing', 'EnvoyListenerSslConnectionErrors', 'EnvoyGlobalDownstreamConnectionsOverflowing', 'EnvoySslCertificateExpiringSoon', 'EnvoySslCertificateExpired', 'EnvoyClusterCircuitBreakerTripped', 'EnvoyNoHealthyUpstream'],
      'awesome-prometheus-alerts/dist/rules/etcd/embedded-exporter.yml': ['EtcdInsufficientMembers', 'EtcdNoLeader', 'EtcdHighNumberOfLeaderChanges'],
      'awesome-prometheus-alerts/dist/rules/gitlab-ci/gitaly.yml': ['GitlabGitalyAuthenticationFailures', 'GitlabGitalyCircuitBreakerTripped'],
      'awesome-prometheus-alerts/dist/rules/gitlab-ci/gitlab-built-in-exporter.yml': ['GitlabVersionMismatch'],
      'awesome-prometheus-alerts/dist/rules/golang/golang-exporter.yml': ['GoHeapIn-useGrowing'],
      'awesome-prometheus-alerts/dist/rules/google-cloud-stackdriver/stackdriver-exporter.yml': ['StackdriverExporterScrapeErrorsIncreasing', 'StackdriverExporterHighApiCalls', 'StackdriverExporterScrapeStale'],
      'awesome-prometheus-alerts/dist/rules/grafana-alloy/embedded-exporter.yml': ['GrafanaAlloyServiceDown'],
      'awesome-prometheus-alerts/dist/rules/grafana-mimir/embedded-exporter.yml': ['MimirIngesterTsdbCheckpointDeletionFailed', 'MimirIngesterTsdbWalTruncationFailed', 'MimirBucketIndexNotUpdated', 'MimirCompactorHasConsecutiveFailures', 'MimirCompactorHasRunOutOfDiskSpace', 'MimirAlertmanagerInitialSyncFailed'],
      'awesome-prometheus-alerts/dist/rules/grafana-tempo/embedded-exporter.yml': ['TempoPollsFailing', 'TempoTenantIndexFailures', 'TempoUserConfigurableOverridesReloadFailing'],
      'awesome-prometheus-alerts/dist/rules/graph-node/embedded-exporter.yml': ['ProviderFailedBecauseNet_versionFailed', 'ProviderFailedBecauseGetGenesisFailed', 'ProviderFailedBecauseNet_versionTimeout', 'ProviderFailedBecauseGetGenesisTimeout', 'StoreConnectionSlow', 'StoreConnectionVerySlow'],
      'awesome-prometheus-alerts/dist/rules/haproxy/embedded-exporter-v2.yml': ['HaproxyServerConnectionErrors', 'HaproxyHasNoAliveBackends', 'HaproxyServerHealthcheckFailure'],
      'awesome-prometheus-alerts/dist/rules/haproxy/haproxy-exporter-v1.yml': ['HaproxyDown', 'HaproxyServerConnectionErrors(v1)', 'HaproxyBackendDown', 'HaproxyServerDown', 'HaproxyServerHealthcheckFailure(v1)'],
      'awesome-prometheus-alerts/dist/rules/hashicorp-vault/embedded-exporter.yml': ['VaultClusterHealth'],
      'awesome-prometheus-alerts/dist/rules/host-and-hardware/node-exporter.yml': ['HostMemoryUnderMemoryPressure', 'HostMemoryIsUnderutilized', 'HostUnusualNetworkThroughputIn', 'HostUnusualNetworkThroughputOut', 'HostDiskIoUtilizationHigh', 'HostCpuStealNoisyNeighbor', 'HostCpuHighIowait', 'HostContextSwitchingHigh', 'HostSystemdServiceCrashed', 'HostNodeOvertemperatureAlarm', 'HostSoftwareRaidInsufficientDrives', 'HostKernelVersionDeviations', 'HostOomKillDetected', 'HostEdacCorrectableErrorsDetected', 'HostEdacUncorrectableErrorsDetected'],
      'awesome-prometheus-alerts/dist/rules/ipmi/ipmi-exporter.yml': ['IpmiTemperatureSensorCritical', 'IpmiFanSpeedSensorCritical', 'IpmiVoltageSensorCritical', 'IpmiCurrentSensorCritical', 'IpmiPowerSensorCritical', 'IpmiChassisPowerOff', 'IpmiChassisDriveFault', 'IpmiChassisCoolingFault'],
      'awesome-prometheus-alerts/dist/rules/istio/embedded-exporter.yml': ['IstioPilotDuplicateEntry'],
      'awesome-prometheus-alerts/dist/rules/jenkins/metric-plugin.yml': ['JenkinsNoNodeOnline', 'JenkinsHealthcheck', 'JenkinsBuildsHealthScore', 'JenkinsRunFailureTotal', 'JenkinsBuildTestsFailing', 'JenkinsLastBuildFailed'],
      'awesome-prometheus-alerts/dist/rules/juniper/czerwonk-junos-exporter.yml': ['JuniperSwitchDown'],
      'awesome-prometheus-alerts/dist/rules/kafka/danielqsj-kafka-exporter.yml': ['KafkaTopicsReplicas'],
      'awesome-prometheus-alerts/dist/rules/kafka/linkedin-kafka-exporter.yml': ['KafkaTopicOffsetDecreased'],
      'awesome-prometheus-alerts/dist/rules/kubernetes/kubestate-exporter.yml': ['KubernetesContainerOomKiller', 'KubernetesJobFailed', 'KubernetesJobNotStarting', 'KubernetesCronjobFailing', 'KubernetesCronjobSuspended', 'KubernetesVolumeFullInFourDays', 'KubernetesPersistentvolumeError', 'KubernetesHpaMetricsUnavailability', 'KubernetesHpaUnderutilized', 'KubernetesCronjobTooLong', 'KubernetesClientCertificateExpiresNextWeek', 'KubernetesClientCertificateExpiresSoon'],
      'awesome-prometheus-alerts/dist/rules/loki/embedded-exporter.yml': ['LokiProcessTooManyRestarts', 'LokiRequestPanic'],
      'awesome-prometheus-alerts/dist/rules/meilisearch/embedded-exporter.yml': ['MeilisearchIndexIsEmpty', 'MeilisearchHttpResponseTime'],
      'awesome-prometheus-alerts/dist/rules/minio/embedded-exporter.yml': ['MinioClusterDiskOffline', 'MinioNodeDiskOffline', 'MinioDiskSpaceUsage'],
      'awesome-prometheus-alerts/dist/rules/mongodb/dcu-mongodb-exporter.yml': ['MongodbReplicationLag(dcu)', 'MongodbReplicationStatus3', 'MongodbReplicationStatus6', 'MongodbReplicationStatus8', 'MongodbReplicationStatus9', 'MongodbReplicationStatus10'],
      'awesome-prometheus-alerts/dist/rules/mongodb/percona-mongodb-exporter.yml': ['MongodbReplicationLag(percona)', 'MongodbReplicationHeadroom'],
      'awesome-prometheus-alerts/dist/rules/mongodb/stefanprodan-mgob-exporter.yml': ['MgobBackupFailed'],
      'awesome-prometheus-alerts/dist/rules/mysql/mysqld-exporter.yml': ['MysqlInnodbLogWaits', 'MysqlRestarted'],
      'awesome-prometheus-alerts/dist/rules/netdata/embedded-exporter.yml': ['NetdataPredictedDiskFull', 'NetdataDiskReallocatedSectors', 'NetdataDiskCurrentPendingSector', 'NetdataReportedUncorrectableDiskSectors'],
      'awesome-prometheus-alerts/dist/rules/nomad/embedded-exporter.yml': ['NomadJobFailed', 'NomadJobLost', 'NomadBlockedEvaluation'],
      'awesome-prometheus-alerts/dist/rules/opensearch/opensearch-project-opensearch-prometheus-exporter.yml': ['OpensearchIsUnhealthy'],
      'awesome-prometheus-alerts/dist/rules/openstack/openstack-exporter.yml': ['OpenstackNovaTenantVcpuQuotaNearlyExhausted', 'OpenstackNovaTenantMemoryQuotaNearlyExhausted', 'OpenstackNovaTenantInstanceQuotaNearlyExhausted', 'OpenstackCinderTenantVolumeQuotaNearlyExhausted', 'OpenstackNeutronSubnetIpPoolExhaustion'],
      'awesome-prometheus-alerts/dist/rules/opentelemetry-collector/embedded-exporter.yml': ['OpentelemetryCollectorExporterQueueNearlyFull'],
      'awesome-prometheus-alerts/dist/rules/pgbouncer/spreaker-pgbouncer-exporter.yml': ['PgbouncerErrors', 'PgbouncerMaxConnections'],
      'awesome-prometheus-alerts/dist/rules/php-fpm/bakins-fpm-exporter.yml': ['Php-fpmMax-childrenReached'],
      'awesome-prometheus-alerts/dist/rules/postgresql/postgres-exporter.yml': ['PostgresqlRestarted', 'PostgresqlExporterError', 'PostgresqlTableNotAutoVacuumed', 'PostgresqlTableNotAutoAnalyzed', 'PostgresqlDeadLocks', 'PostgresqlHighRollbackRate', 'PostgresqlConfigurationChanged', 'PostgresqlSslCompressionActive'],
      'awesome-prometheus-alerts/dist/rules/process-exporter/process-exporter.yml': ['ProcessExporterProcessRestarting'],
      'awesome-prometheus-alerts/dist/rules/prometheus-self-monitoring/embedded-exporter.yml': ['PrometheusJobMissing', 'PrometheusConfigurationReloadFailure', 'PrometheusTooManyRestarts', 'PrometheusAlertmanagerJobMissing', 'PrometheusAlertmanagerConfigurationReloadFailure', 'PrometheusAlertmanagerConfigNotSynced', 'PrometheusAlertmanagerE2eDeadManSwitch', 'PrometheusNotConnectedToAlertmanager', 'PrometheusRuleEvaluationFailures', 'PrometheusTemplateTextExpansionFailures', 'PrometheusNotificationsBacklog', 'PrometheusAlertmanagerNotificationFailing', 'PrometheusTargetEmpty', 'PrometheusTargetScrapeDuplicate', 'PrometheusTsdbCheckpointCreationFailures', 'PrometheusTsdbCheckpointDeletionFailures', 'PrometheusTsdbCompactionsFailed', 'PrometheusTsdbHeadTruncationsFailed', 'PrometheusTsdbReloadFailures', 'PrometheusTsdbWalCorruptions', 'PrometheusTsdbWalTruncationsFailed', 'PrometheusTimeseriesCardinality'],
      'awesome-prometheus-alerts/dist/rules/proxmox-ve/prometheus-pve-exporter.yml': ['PveGuestNotBackedUp', 'PveReplicationFailed', 'PveClusterNotQuorate'],
      'awesome-prometheus-alerts/dist/rules/rabbitmq/kbudde-rabbitmq-exporter.yml': ['RabbitmqClusterPartition', 'RabbitmqTooManyConsumers'],
      'awesome-prometheus-alerts/dist/rules/redis/oliver006-redis-exporter.yml': ['RedisMissingMaster', 'RedisDisconnectedSlaves', 'RedisReplicationBroken', 'RedisMissingBackup', 'RedisRejectedConnections'],
      'awesome-prometheus-alerts/dist/rules/s.m.a.r.t-device-monitoring/smartctl-exporter.yml': ['SmartDeviceTemperatureWarning', 'SmartDeviceTemperatureCritical', 'SmartDeviceTemperatureOverTripValue', 'SmartDeviceTemperatureNearingTripValue', 'SmartStatus', 'SmartCriticalWarning', 'SmartMediaErrors', 'SmartWearoutIndicator'],
      'awesome-prometheus-alerts/dist/rules/sidekiq/strech-sidekiq-exporter.yml': ['SidekiqSchedulingLatencyTooHigh'],
      'awesome-prometheus-alerts/dist/rules/snmp/snmp-exporter.yml': ['SnmpDeviceRestarted'],
      'awesome-prometheus-alerts/dist/rules/solr/embedded-exporter.yml': ['SolrUpdateErrors', 'SolrReplicationErrors', 'SolrLowLiveNodeCount'],
      'awesome-prometheus-alerts/dist/rules/speedtest/nlamirault-speedtest-exporter.yml': ['SpeedtestSlowInternetDownload', 'SpeedtestSlowInternetUpload'],
      'awesome-prometheus-alerts/dist/rules/ssl/tls/ribbybibby-ssl-exporter.yml': ['SslCertificateOcspStatusUnknown', 'SslCertificateRevoked', 'SslCertificateExpiry(<7Days)'],
      'awesome-prometheus-alerts/dist/rules/thanos/thanos-compactor.yml': ['ThanosCompactHasNotRun'],
      'awesome-prometheus-alerts/dist/rules/traefik/embedded-exporter-v1.yml': ['TraefikBackendDown'],
      'awesome-prometheus-alerts/dist/rules/traefik/embedded-exporter-v2.yml': ['TraefikServiceDown'],
      'awesome-prometheus-alerts/dist/rules/windows-server/windows-exporter.yml': ['WindowsServerCollectorError', 'WindowsServerCpuUsage'],
      'awesome-prometheus-alerts/dist/rules/zfs/zfs_exporter.yml': ['ZfsPoolOutOfSpace', 'ZfsPoolUnhealthy', 'ZfsCollectorFailed'],
      'awesome-prometheus-alerts/dist/rules/zookeeper/dabealu-zookeeper-exporter.yml': ['ZookeeperMissingLeader', 'ZookeeperTooManyLeaders'],
    },
  },
  {
    check: 'promql/regexp',
    level: 'info',
    why: 'a regular expression without any pattern (=~"otlp", !~""): = or != says the same — a style note',
    rules: {
      'kube-prometheus/rules/prometheus-k8s-prometheus-rules.yaml': ['PrometheusErrorSendingAlertsToAnyAlertmanager'],
      'awesome-prometheus-alerts/dist/rules/cilium/embedded-exporter.yml': ['CiliumAgentEndpointCreateFailure', 'CiliumAgentHighDropRate'],
      'awesome-prometheus-alerts/dist/rules/istio/embedded-exporter.yml': ['IstioMixerPrometheusDispatchesLow'],
      'awesome-prometheus-alerts/dist/rules/opentelemetry-collector/embedded-exporter.yml': ['OpentelemetryCollectorOtlpReceiverErrors'],
    },
  },
  {
    check: 'alerts/template',
    level: 'warning',
    why: 'the summary names $labels.instance, but the query aggregates instance away (sum/count/max by other labels, or without(instance)): it renders as "(instance )" — a real defect of the text',
    rules: {
      'awesome-prometheus-alerts/dist/rules/cassandra/criteo-cassandra-exporter.yml': ['CassandraNodeDown'],
      'awesome-prometheus-alerts/dist/rules/cert-manager/embedded-exporter.yml': ['Cert-managerAbsent', 'Cert-managerCertificateExpiringSoon', 'Cert-managerCertificateNotReady', 'Cert-managerHittingAcmeRateLimits'],
      'awesome-prometheus-alerts/dist/rules/cilium/embedded-exporter.yml': ['CiliumAgentUnreachableNodes', 'CiliumAgentUnreachableHealthEndpoints', 'CiliumAgentFailingControllers', 'CiliumAgentEndpointFailures', 'CiliumAgentEndpointRegenerationFailures', 'CiliumAgentEndpointUpdateFailure', 'CiliumAgentEndpointCreateFailure', 'CiliumAgentMapOperationFailures', 'CiliumAgentConntrackTableFull', 'CiliumAgentConntrackFailedGarbageCollection', 'CiliumAgentNatTableFull', 'CiliumAgentHighDeniedRate', 'CiliumAgentHighDropRate', 'CiliumAgentPolicyMapPressure', 'CiliumAgentPolicyImportErrors', 'CiliumAgentPolicyImplementationDelay', 'CiliumNode-localHighIdentityAllocation', 'CiliumClusterHighIdentityAllocation', 'CiliumOperatorExhaustedIpamIps', 'CiliumOperatorLowAvailableIpamIps', 'CiliumOperatorIpamInterfaceCreationFailures', 'CiliumAgentApiErrors', 'CiliumAgentKubernetesClientErrors', 'CiliumClustermeshRemoteClusterNotReady', 'CiliumClustermeshRemoteClusterFailing', 'CiliumKvstoremeshRemoteClusterNotReady', 'CiliumKvstoremeshRemoteClusterFailing', 'CiliumKvstoremeshSyncErrors', 'CiliumHubbleLostEvents', 'CiliumHubbleHighDnsErrorRate'],
      'awesome-prometheus-alerts/dist/rules/cloudflare/lablabs-cloudflare-exporter.yml': ['CloudflareHttp4xxErrorRate', 'CloudflareHttp5xxErrorRate'],
      'awesome-prometheus-alerts/dist/rules/cortex/embedded-exporter.yml': ['CortexFrontendQueriesStuck'],
      'awesome-prometheus-alerts/dist/rules/digitalocean/digitalocean-exporter.yml': ['DigitaloceanDropletLimitApproaching'],
      'awesome-prometheus-alerts/dist/rules/docker-containers/google-cadvisor.yml': ['ContainerAbsent', 'ContainerHighCpuUtilization', 'ContainerHighThrottleRate', 'ContainerLowCpuUtilization'],
      'awesome-prometheus-alerts/dist/rules/elasticsearch/prometheus-community-elasticsearch-exporter.yml': ['ElasticsearchHighIndexingRate', 'ElasticsearchHighQueryRate'],
      'awesome-prometheus-alerts/dist/rules/etcd/embedded-exporter.yml': ['EtcdInsufficientMembers', 'EtcdHighNumberOfFailedGrpcRequestsWarning', 'EtcdHighNumberOfFailedGrpcRequestsCritical', 'EtcdGrpcRequestsSlow', 'EtcdHighNumberOfFailedHttpRequestsWarning', 'EtcdHighNumberOfFailedHttpRequestsCritical'],
      'awesome-prometheus-alerts/dist/rules/gitlab-ci/gitaly.yml': ['GitlabGitalyHighGrpcErrorRate', 'GitlabGitalyHighGrpcErrorRate', 'GitlabGitalyResourceExhausted', 'GitlabGitalyResourceExhausted', 'GitlabGitalyHighRpcLatency', 'GitlabGitalyHighRpcLatency'],
      'awesome-prometheus-alerts/dist/rules/gitlab-ci/gitlab-built-in-exporter.yml': ['GitlabHighHttpErrorRate', 'GitlabHighHttpErrorRate', 'GitlabHighHttpRequestLatency', 'GitlabHighHttpRequestLatency', 'GitlabSidekiqQueueTooLarge', 'GitlabSidekiqQueueTooLarge', 'GitlabSidekiqHighJobCompletionTime', 'GitlabSidekiqHighJobCompletionTime', 'GitlabSidekiqHighQueueLatency', 'GitlabSidekiqHighQueueLatency', 'GitlabCiPipelineCreationSlow', 'GitlabCiPipelineCreationSlow', 'GitlabVersionMismatch'],
      'awesome-prometheus-alerts/dist/rules/gitlab-ci/workhorse.yml': ['GitlabWorkhorseHighErrorRate', 'GitlabWorkhorseHighErrorRate', 'GitlabWorkhorseHighLatency', 'GitlabWorkhorseHighLatency'],
      'awesome-prometheus-alerts/dist/rules/grafana-mimir/embedded-exporter.yml': ['MimirIngesterUnhealthy', 'MimirRequestErrors', 'MimirInconsistentRuntimeConfig', 'MimirBadRuntimeConfig', 'MimirSchedulerQueriesStuck', 'MimirCacheRequestErrors', 'MimirKvStoreFailure', 'MimirIngestedDataTooFarInTheFuture', 'MimirStoreGatewayTooManyFailedOperations', 'MimirRingMembersMismatch', 'MimirBucketIndexNotUpdated', 'MimirRulerFailedRingCheck', 'MimirGossipMembersCountTooHigh', 'MimirGossipMembersCountTooLow'],
      'awesome-prometheus-alerts/dist/rules/grafana-tempo/embedded-exporter.yml': ['TempoDistributorUnhealthy', 'TempoLiveStoreUnhealthy', 'TempoMetricsGeneratorUnhealthy', 'TempoCompactionsFailing', 'TempoPollsFailing', 'TempoTenantIndexFailures', 'TempoNoTenantIndexBuilders', 'TempoTenantIndexTooOld', 'TempoBlockListRisingQuickly', 'TempoBadOverrides', 'TempoUserConfigurableOverridesReloadFailing', 'TempoDistributorUsageTrackerErrors', 'TempoMetricsGeneratorProcessorUpdatesFailing', 'TempoMetricsGeneratorServiceGraphsDroppingSpans', 'TempoMetricsGeneratorCollectionsFailing', 'TempoMemcachedErrorsElevated'],
      'awesome-prometheus-alerts/dist/rules/haproxy/embedded-exporter-v2.yml': ['HaproxyHighHttp4xxErrorRateBackend', 'HaproxyHighHttp5xxErrorRateBackend', 'HaproxyHighHttp4xxErrorRateServer', 'HaproxyHighHttp5xxErrorRateServer', 'HaproxyServerResponseErrors', 'HaproxyBackendConnectionErrors', 'HaproxyServerConnectionErrors', 'HaproxyPendingRequests', 'HaproxyRetryHigh', 'HaproxyFrontendSecurityBlockedRequests'],
      'awesome-prometheus-alerts/dist/rules/haproxy/haproxy-exporter-v1.yml': ['HaproxyHighHttp4xxErrorRateBackend(v1)', 'HaproxyHighHttp5xxErrorRateBackend(v1)', 'HaproxyHighHttp4xxErrorRateServer(v1)', 'HaproxyHighHttp5xxErrorRateServer(v1)', 'HaproxyServerResponseErrors(v1)', 'HaproxyBackendConnectionErrors(v1)', 'HaproxyServerConnectionErrors(v1)', 'HaproxyBackendMaxActiveSession', 'HaproxyPendingRequests(v1)', 'HaproxyHttpSlowingDown(v1)', 'HaproxyRetryHigh(v1)', 'HaproxyFrontendSecurityBlockedRequests(v1)'],
      'awesome-prometheus-alerts/dist/rules/hashicorp-vault/embedded-exporter.yml': ['VaultTooManyPendingTokens', 'VaultTooManyPendingTokens', 'VaultClusterHealth'],
      'awesome-prometheus-alerts/dist/rules/istio/embedded-exporter.yml': ['IstioKubernetesGatewayAvailabilityDrop', 'IstioPilotHighPushErrorRate', 'IstioMixerPrometheusDispatchesLow', 'IstioHighTotalRequestRate', 'IstioLowTotalRequestRate', 'IstioHigh4xxErrorRate', 'IstioHigh5xxErrorRate', 'IstioLatency99Percentile', 'IstioPilotDuplicateEntry'],
      'awesome-prometheus-alerts/dist/rules/kafka/danielqsj-kafka-exporter.yml': ['KafkaTopicsReplicas', 'KafkaConsumerGroupLag'],
      'awesome-prometheus-alerts/dist/rules/keycloak/aerogear-keycloak-metrics-spi.yml': ['KeycloakHighLoginFailureRate', 'KeycloakNoSuccessfulLogins', 'KeycloakHighTokenRefreshErrorRate', 'KeycloakHighCode-to-tokenExchangeErrorRate', 'KeycloakHighRegistrationFailureRate', 'KeycloakSlowRequestResponseTime'],
      'awesome-prometheus-alerts/dist/rules/kubernetes/kubestate-exporter.yml': ['KubernetesNodeOutOfPodCapacity', 'KubernetesHpaScaleInability', 'KubernetesHpaUnderutilized', 'KubernetesPodNotHealthy'],
      'awesome-prometheus-alerts/dist/rules/linkerd/embedded-exporter.yml': ['LinkerdHighErrorRate'],
      'awesome-prometheus-alerts/dist/rules/litellm/embedded-exporter.yml': ['LitellmProviderSpendOverBudget', 'LitellmProxyFailedRequestsRateHigh', 'LitellmRequestLatencyP95High'],
      'awesome-prometheus-alerts/dist/rules/loki/embedded-exporter.yml': ['LokiRequestErrors', 'LokiRequestPanic', 'LokiRequestLatency'],
      'awesome-prometheus-alerts/dist/rules/mongodb/dcu-mongodb-exporter.yml': ['MongodbReplicationLag(dcu)'],
      'awesome-prometheus-alerts/dist/rules/mongodb/percona-mongodb-exporter.yml': ['MongodbReplicationHeadroom'],
      'awesome-prometheus-alerts/dist/rules/nats/nats-exporter.yml': ['NatsServerDown', 'NatsJetstreamAccountsExceeded'],
      'awesome-prometheus-alerts/dist/rules/nginx/knyar-nginx-exporter.yml': ['NginxHighHttp4xxErrorRate', 'NginxHighHttp5xxErrorRate', 'NginxLatencyHigh'],
      'awesome-prometheus-alerts/dist/rules/openstack/openstack-exporter.yml': ['OpenstackNovaInstancesInErrorState'],
      'awesome-prometheus-alerts/dist/rules/patroni/embedded-exporter-patroni.yml': ['PatroniHasNoLeader'],
      'awesome-prometheus-alerts/dist/rules/postgresql/postgres-exporter.yml': ['PostgresqlNotEnoughConnections'],
      'awesome-prometheus-alerts/dist/rules/prometheus-self-monitoring/embedded-exporter.yml': ['PrometheusJobMissing', 'PrometheusAllTargetsMissing', 'PrometheusAlertmanagerJobMissing', 'PrometheusAlertmanagerConfigNotSynced', 'PrometheusAlertmanagerE2eDeadManSwitch', 'PrometheusTimeseriesCardinality'],
      'awesome-prometheus-alerts/dist/rules/promtail/embedded-exporter.yml': ['PromtailRequestLatency'],
      'awesome-prometheus-alerts/dist/rules/pulsar/embedded-exporter.yml': ['PulsarSubscriptionHighNumberOfBacklogEntries', 'PulsarSubscriptionVeryHighNumberOfBacklogEntries', 'PulsarTopicLargeBacklogStorageSize', 'PulsarTopicVeryLargeBacklogStorageSize', 'PulsarHighWriteLatency', 'PulsarLargeMessagePayload', 'PulsarHighLedgerDiskUsage', 'PulsarReadOnlyBookies', 'PulsarHighNumberOfFunctionErrors', 'PulsarHighNumberOfSinkErrors'],
      'awesome-prometheus-alerts/dist/rules/rabbitmq/kbudde-rabbitmq-exporter.yml': ['RabbitmqClusterDown'],
      'awesome-prometheus-alerts/dist/rules/rabbitmq/rabbitmq-exporter.yml': ['RabbitmqNodeDown', 'RabbitmqInstancesDifferentVersions', 'RabbitmqTooManyReadyMessages', 'RabbitmqTooManyUnackMessages'],
      'awesome-prometheus-alerts/dist/rules/redis/oliver006-redis-exporter.yml': ['RedisMissingMaster', 'RedisTooManyMasters', 'RedisDisconnectedSlaves'],
      'awesome-prometheus-alerts/dist/rules/sidekiq/strech-sidekiq-exporter.yml': ['SidekiqSchedulingLatencyTooHigh'],
      'awesome-prometheus-alerts/dist/rules/spinnaker/embedded-exporter.yml': ['SpinnakerPollingMonitorItemsOverThreshold'],
      'awesome-prometheus-alerts/dist/rules/thanos/thanos-bucket-replicate.yml': ['ThanosBucketReplicateErrorRate', 'ThanosBucketReplicateRunLatency'],
      'awesome-prometheus-alerts/dist/rules/thanos/thanos-compactor.yml': ['ThanosCompactorMultipleRunning', 'ThanosCompactorHighCompactionFailures', 'ThanosCompactBucketHighOperationFailures', 'ThanosCompactHasNotRun'],
      'awesome-prometheus-alerts/dist/rules/thanos/thanos-component-absent.yml': ['ThanosCompactIsDown', 'ThanosQueryIsDown', 'ThanosReceiveIsDown', 'ThanosRuleIsDown', 'ThanosSidecarIsDown', 'ThanosStoreIsDown'],
      'awesome-prometheus-alerts/dist/rules/thanos/thanos-query.yml': ['ThanosQueryHttpRequestQueryErrorRateHigh', 'ThanosQueryHttpRequestQueryRangeErrorRateHigh', 'ThanosQueryGrpcServerErrorRate', 'ThanosQueryGrpcClientErrorRate', 'ThanosQueryHighDNSFailures', 'ThanosQueryInstantLatencyHigh', 'ThanosQueryRangeLatencyHigh'],
      'awesome-prometheus-alerts/dist/rules/thanos/thanos-receiver.yml': ['ThanosReceiveHttpRequestErrorRateHigh', 'ThanosReceiveHttpRequestLatencyHigh', 'ThanosReceiveHighForwardRequestFailures', 'ThanosReceiveHighHashringFileRefreshFailures', 'ThanosReceiveConfigReloadFailure'],
      'awesome-prometheus-alerts/dist/rules/thanos/thanos-store.yml': ['ThanosStoreGrpcErrorRate', 'ThanosStoreSeriesGateLatencyHigh', 'ThanosStoreBucketHighOperationFailures', 'ThanosStoreObjstoreOperationLatencyHigh'],
      'awesome-prometheus-alerts/dist/rules/traefik/embedded-exporter-v1.yml': ['TraefikBackendDown', 'TraefikHighHttp4xxErrorRateBackend', 'TraefikHighHttp5xxErrorRateBackend'],
      'awesome-prometheus-alerts/dist/rules/traefik/embedded-exporter-v2.yml': ['TraefikServiceDown', 'TraefikHighHttp4xxErrorRateService', 'TraefikHighHttp5xxErrorRateService'],
      'awesome-prometheus-alerts/dist/rules/zookeeper/dabealu-zookeeper-exporter.yml': ['ZookeeperMissingLeader', 'ZookeeperTooManyLeaders'],
    },
  },
  {
    check: 'promql/regexp',
    level: 'info',
    why: '^ at the start of a regular expression Prometheus anchors anyway — a style note',
    rules: {
      'awesome-prometheus-alerts/dist/rules/cloudflare/lablabs-cloudflare-exporter.yml': ['CloudflareHttp4xxErrorRate', 'CloudflareHttp5xxErrorRate'],
      'awesome-prometheus-alerts/dist/rules/host-and-hardware/node-exporter.yml': ['HostOutOfDiskSpace', 'HostDiskMayFillIn24Hours', 'HostFilesystemDeviceError', 'HostInodesMayFillIn24Hours'],
      'awesome-prometheus-alerts/dist/rules/nginx/knyar-nginx-exporter.yml': ['NginxHighHttp4xxErrorRate', 'NginxHighHttp5xxErrorRate'],
    },
  },
  {
    check: 'promql/impossible',
    level: 'error',
    why: '`... / ignoring(limit) ... > 0.8 and (x{limit="..."} > 0)`: the right side of "and" always has limit, the left never does, so the alert can never fire — a real defect',
    rules: {
      'awesome-prometheus-alerts/dist/rules/grafana-mimir/embedded-exporter.yml': ['MimirIngesterReachingSeriesLimitWarning', 'MimirIngesterReachingSeriesLimitCritical', 'MimirIngesterReachingTenantsLimitWarning', 'MimirIngesterReachingTenantsLimitCritical', 'MimirDistributorInflightRequestsHigh'],
    },
  },
  {
    check: 'alerts/template',
    level: 'warning',
    why: 'the description reads $labels.namespace, but the query keeps only horizontalpodautoscaler: it renders empty — a real defect of the text',
    rules: {
      'awesome-prometheus-alerts/dist/rules/kubernetes/kubestate-exporter.yml': ['KubernetesHpaUnderutilized'],
    },
  },
  {
    check: 'alerts/comparison',
    level: 'info',
    why: 'a query without a comparison whose label filter (indexrelname=~".*ccnew.*") makes existence the condition: a style note to state it',
    rules: {
      'awesome-prometheus-alerts/dist/rules/postgresql/postgres-exporter.yml': ['PostgresqlInvalidIndex'],
    },
  },
];

const ROOT = join(import.meta.dirname, '..', '..');
const FILES = corpusRuleFiles() ?? [];
const CORPUS_ROOT = FILES.length > 0 ? join(corpusDir('rules')!, '..', '..') : '';

function lintCorpus(): RuleFinding[] {
  const findings: RuleFinding[] = [];
  const files = FILES.map((path) => {
    const parsed = parseRuleFileText(relative(CORPUS_ROOT, path), readFileSync(path, 'utf8'));
    findings.push(...parsed.findings);
    return { name: relative(CORPUS_ROOT, path), content: parsed.file! };
  });
  return [...findings, ...lintRuleFiles(files, { profile: 'external', catalog: false })];
}

const key = (check: string, level: string, file: string, rule: string) => `${check} ${level} ${file} ${rule}`;

describe.skipIf(FILES.length === 0)('check rules --no-catalog over the corpus', () => {
  const findings = lintCorpus();

  it('finds exactly the listed defects and style notes, each justified', () => {
    expect(FILES).toHaveLength(120);
    for (const e of EXPECTED) {
      expect(e.why.length).toBeGreaterThan(40);
      // Only real defects are above info.
      if (e.level !== 'info') expect(e.why).toMatch(/real defect/);
    }
    const expected = EXPECTED.flatMap((e) => Object.entries(e.rules).flatMap(([file, rules]) => rules.map((r) => key(e.check, e.level, file, r)))).sort();
    const actual = findings.filter((f) => !f.policy).map((f) => key(f.check, f.level, f.file, f.rule)).sort();
    const missing = expected.filter((k, i) => expected.indexOf(k) === i).filter((k) => actual.filter((a) => a === k).length < expected.filter((x) => x === k).length);
    const unlisted = actual.filter((k, i) => actual.indexOf(k) === i).filter((k) => expected.filter((x) => x === k).length < actual.filter((a) => a === k).length);
    expect({ unlisted, missing }).toEqual({ unlisted: [], missing: [] });
    expect(actual).toHaveLength(504);
  });

  it('keeps house policy apart: the runbook_url the external profile asks for, and nothing else', () => {
    const policy = findings.filter((f) => f.policy);
    expect(policy).toHaveLength(954);
    expect(new Set(policy.map((f) => `${f.check} ${f.level} ${f.message}`))).toEqual(new Set(['alerts/annotation warning has no runbook_url annotation']));
    // kube-prometheus's rules carry their runbooks.
    expect(policy.some((f) => f.file.startsWith('kube-prometheus'))).toBe(false);
  });

  it('refuses no file Prometheus loads (the empty group of the Zookeeper exporter file included)', () => {
    expect(findings.filter((f) => f.check === 'rule/structure' || f.check === 'yaml/parse' || f.check === 'promql/syntax')).toEqual([]);
  });

  it('as a process, with promtool: the same counts, and exit 1 for the five errors', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'obstack.js'), 'check', 'rules', '--no-catalog', ...FILES], { encoding: 'utf8', cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    expect(r.stdout).toContain('120 file(s), 1188 rule(s): 5 errors, 236 warnings, 263 notes; 954 policy findings');
    expect(r.status).toBe(1);
  }, 60_000);
});
