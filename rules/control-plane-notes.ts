import type { RunbookContent } from '../src/authoring/index.js';

/**
 * Runbook notes of the control-plane area: every P1 and P2 alert's own, and
 * the area's for the others. The recording area has no alert; its note says
 * what to look at when its series are missing.
 */
export function controlPlaneRunbookNotes(ns: string): { alerts: Record<string, RunbookContent>; areas: Record<string, RunbookContent> } {
  const targets = "Prometheus's Status → Targets page: the job's targets, their last error, and whether any is discovered at all.";
  const staticPod = (component: string, flag: string) => ({
    causes: [
      `${component} is down: \`kubectl -n kube-system get pods -l component=${component} -o wide\` on a self-managed cluster.`,
      `It listens on 127.0.0.1 only (kubeadm's default): set \`${flag}\` on the control-plane nodes, or switch \`controlPlane\` off for a cluster that hides it (EKS, GKE, AKS).`,
      "The environment's `controlPlane` selector or port does not match the pods, so nothing is discovered.",
    ],
    checks: [targets, `\`kubectl -n kube-system describe pod -l component=${component}\` and the node's kubelet log.`],
  });

  const alerts: Record<string, RunbookContent> = {
    KubeAPIDown: {
      impact: 'Nothing in the cluster can change: no deployment, scaling, scheduling or controller works, and kubectl fails. Running pods keep running.',
      causes: [
        'Every API server is down or restarting (a bad flag, an expired certificate, etcd unreachable).',
        "Prometheus cannot reach them: its NetworkPolicy's API server ports (443, 6443) or a firewall in front of the control plane.",
      ],
      checks: ['`kubectl get --raw /readyz?verbose` from a machine that reaches the API server.', targets, 'On a self-managed cluster, the kube-apiserver container logs on each control-plane node (`crictl logs`).'],
    },
    KubeAPIErrorsHigh: {
      impact: 'Part of the API requests fail: deployments, controllers and operators retry or give up, and kubectl commands fail intermittently.',
      causes: ['etcd is slow or has lost a member (see the etcd alerts).', 'An admission webhook that fails or times out.', 'The API server is overloaded (look at terminated requests and priority and fairness rejections).'],
      checks: ['The control plane dashboard: requests by code and verb, latency, inflight requests.', '`kubectl get --raw /metrics | grep apiserver_request_total | grep code=\\"5` to see which resources fail.', '`kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations`.'],
    },
    EtcdDown: {
      impact: "Prometheus sees no etcd member: either etcd is down (and the API server with it) or its metrics are not reachable, and every etcd alert is blind.",
      ...staticPod('etcd', '--listen-metrics-urls=http://0.0.0.0:2381'),
    },
    EtcdMemberDown: {
      impact: 'One etcd member is unreachable: the cluster still has its quorum, but one more failure stops every write to the cluster.',
      causes: ['The member or its node is down.', 'Its disk is full or failing.', 'A network partition between the control-plane nodes.'],
      checks: ['`etcdctl endpoint status --cluster -w table` and `etcdctl endpoint health --cluster` on a control-plane node.', targets],
    },
    EtcdInsufficientMembers: {
      impact: 'etcd has lost its quorum: it refuses every write, so the API server cannot change anything; reads may be stale.',
      causes: ['Two of three (or three of five) members are down at once: a control-plane upgrade done too fast, a zone outage.', 'Members cannot reach each other (peer port 2380 blocked).'],
      checks: ['`etcdctl endpoint status --cluster -w table`: which members answer and who leads.', 'Bring members back one at a time; restore from a snapshot only if a majority is lost for good.'],
    },
    EtcdNoLeader: {
      impact: 'The member sees no leader: it serves no writes and requests the API server sends to it fail.',
      causes: ['A leader election that does not converge: slow disks (fsync) or a slow network between members.', 'A network partition isolating this member.'],
      checks: ['`etcdctl endpoint status --cluster -w table`.', 'The control plane dashboard: fsync and commit latency, peer round-trip time.'],
    },
    EtcdDatabaseQuotaLowSpace: {
      impact: 'When the database reaches its quota, etcd raises a NOSPACE alarm and refuses every write: the cluster freezes.',
      causes: ['History is not compacted or the database not defragmented after compaction.', 'An operator or CRD writing many or large objects (Events, Secrets, custom resources).'],
      checks: ['`etcdctl endpoint status -w table` (DB SIZE against the quota).', '`etcdctl defrag` one member at a time; `etcdctl alarm list` and `etcdctl alarm disarm` once space is back.'],
    },
    KubeSchedulerDown: {
      impact: 'New pods are not scheduled: deployments, scale-ups and replacements of failed pods stay Pending.',
      ...staticPod('kube-scheduler', '--bind-address=0.0.0.0'),
    },
    KubeControllerManagerDown: {
      impact: 'Controllers do not run: Deployments do not roll out, ReplicaSets do not replace pods, nodes are not watched, endpoints are not updated.',
      ...staticPod('kube-controller-manager', '--bind-address=0.0.0.0'),
    },
    CoreDNSDown: {
      impact: 'Name resolution inside the cluster fails: every service that calls another by name fails.',
      causes: ['The CoreDNS pods crash (a bad Corefile after an edit of the `coredns` ConfigMap) or cannot be scheduled.', 'The cluster DNS is not CoreDNS (GKE\'s kube-dns): switch `controlPlane.coreDns` off.'],
      checks: ['`kubectl -n kube-system get pods -l k8s-app=kube-dns` and `kubectl -n kube-system logs -l k8s-app=kube-dns`.', targets],
    },
    CoreDNSErrorsHigh: {
      impact: 'Lookups fail with SERVFAIL: calls between services and to external hosts fail intermittently.',
      causes: ['The upstream resolvers CoreDNS forwards to fail or are unreachable.', 'A broken zone or plugin in the Corefile.'],
      checks: ['The control plane dashboard: responses by rcode, latency by zone.', '`kubectl -n kube-system logs -l k8s-app=kube-dns`.'],
    },
    KubeProxyDown: {
      impact: 'Services stop following their endpoints on the nodes concerned: new or moved pods are not reached through their Service.',
      causes: [
        'kube-proxy pods crash or are not scheduled.',
        'It serves metrics on 127.0.0.1 only (kubeadm\'s default): set `metricsBindAddress: 0.0.0.0:10249` in the kube-proxy ConfigMap, or switch `controlPlane.kubeProxy` off where a CNI replaces kube-proxy.',
      ],
      checks: ['`kubectl -n kube-system get pods -l k8s-app=kube-proxy -o wide`.', targets],
    },
    KubeNodeNotReady: {
      impact: 'The node runs no new pods, and after the eviction timeout its pods are replaced elsewhere; workloads with one replica there are down meanwhile.',
      causes: ['The kubelet or container runtime on the node stopped.', 'The node is out of memory, disk or PIDs.', 'The node lost its network.'],
      checks: ['`kubectl describe node <node>`: conditions and events.', 'The nodes dashboard for the node; the kubelet log on the node (`journalctl -u kubelet`).'],
    },
    KubePersistentVolumeInodesFillingUp: {
      impact: 'The volume cannot take new files although space is left: the application on it fails its writes.',
      causes: ['Many small files: caches, sessions, a queue spooling to disk, unrotated logs.'],
      checks: ['`kubectl -n <namespace> exec <pod> -- df -i` on the mount.', 'Delete what can go, or move the data to a volume formatted with more inodes.'],
    },
    KubePersistentVolumeErrors: {
      impact: 'The volume cannot be used: pods that claim it stay Pending or fail to mount it, and its data may be unreachable.',
      causes: ['The storage provisioner failed (quota, zone without capacity, wrong StorageClass).', 'The backing disk was deleted or detached.'],
      checks: ['`kubectl describe pv <persistentvolume>` and the events of its claim.', "The provisioner's (CSI driver's) logs."],
    },
  };

  const areas: Record<string, RunbookContent> = {
    'control-plane': {
      impact: 'A part of the Kubernetes control plane, or a node or controller it runs, is degraded: changes to the cluster are slow, partial or refused, or workloads lose capacity.',
      causes: [
        'A control-plane component is overloaded or its disk is slow (etcd above all).',
        'A node, its kubelet or its container runtime is in trouble.',
        'A rollout, autoscaler or quota blocks what a controller tries to do.',
      ],
      checks: ['The control plane dashboard, and the nodes or workloads dashboard linked below.', `\`kubectl get events -A --sort-by=.lastTimestamp\` and, for the stack itself, \`kubectl -n ${ns} get pods\`.`],
    },
    recording: {
      impact: 'None by itself: this area only records series for the dashboards. A panel reading one shows no data when the rule fails or what it reads is not scraped.',
      causes: ['The part it reads is switched off in `controlPlane` or not scraped.', 'A rule evaluation fails (`PrometheusRuleFailures`).'],
      checks: ["Prometheus's Status → Rules page: the group's last evaluation and error."],
    },
  };
  return { alerts, areas };
}
