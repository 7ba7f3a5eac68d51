import { describe, expect, it } from "vitest";
import { checkSecurityPolicy, listExemptions, POLICY_RULES, type Finding } from "../../src/validate/index.js";
import { compliantContainer, compliantDeployment, compliantPodSpec, compliantSet, LABELS, NAMESPACE, networkPolicy, type Obj } from "./fixtures/objects.js";

const DEPLOYMENT = "Deployment/monitoring/demo";
const POD = "spec.template.spec";
const C0 = `${POD}.containers[0]`;

/** Policy findings of the compliant set after one change to its Deployment. */
function deploymentWith(mutate: (d: Obj) => void, extra: Obj[] = []): Finding[] {
  const [deployment, policy] = compliantSet() as [Obj, Obj];
  mutate(deployment);
  return checkSecurityPolicy([deployment, policy, ...extra]);
}

function exempt(d: Obj, rule: string, reason: string): void {
  d.spec.template.metadata.annotations = { ...d.spec.template.metadata.annotations, [`exemptions.obstack.io/${rule}`]: reason };
}

describe("checkSecurityPolicy: the compliant set", () => {
  it("has no findings", () => {
    expect(checkSecurityPolicy(compliantSet())).toEqual([]);
  });

  it("has an id and a description for every rule", () => {
    expect(Object.keys(POLICY_RULES).sort()).toEqual(
      [
        "cpu-limit",
        "drop-all-capabilities",
        "host-namespaces",
        "host-path",
        "image-pinned",
        "network-policy",
        "no-privilege-escalation",
        "not-privileged",
        "numeric-user",
        "probes",
        "read-only-root-filesystem",
        "resources",
        "run-as-non-root",
        "seccomp-runtime-default",
        "service-account-token",
        "writable-paths",
      ].sort(),
    );
    for (const description of Object.values(POLICY_RULES)) expect(description.length).toBeGreaterThan(10);
  });
});

describe("checkSecurityPolicy: container security context", () => {
  it("run-as-non-root: takes the pod's setting when the container has none", () => {
    expect(deploymentWith((d) => delete d.spec.template.spec.containers[0].securityContext.runAsNonRoot)).toEqual([]);
  });

  it("run-as-non-root: fails when neither pod nor container sets it", () => {
    const findings = deploymentWith((d) => {
      delete d.spec.template.spec.containers[0].securityContext.runAsNonRoot;
      delete d.spec.template.spec.securityContext.runAsNonRoot;
    });
    expect(findings).toEqual([
      {
        check: "run-as-non-root",
        object: DEPLOYMENT,
        path: `${C0}.securityContext.runAsNonRoot`,
        message: 'container "demo" is not required to run as non-root: runAsNonRoot is not set (set it to true in the pod\'s or the container\'s securityContext)',
      },
    ]);
  });

  it("run-as-non-root: says when a container overrides the pod", () => {
    const findings = deploymentWith((d) => (d.spec.template.spec.containers[0].securityContext.runAsNonRoot = false));
    expect(findings.map((f) => f.message)).toEqual(['container "demo" sets runAsNonRoot: false, overriding the pod\'s true']);
  });

  it("numeric-user: explains why a named image USER breaks runAsNonRoot", () => {
    const findings = deploymentWith((d) => {
      delete d.spec.template.spec.containers[0].securityContext.runAsUser;
      delete d.spec.template.spec.securityContext.runAsUser;
    });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ check: "numeric-user", object: DEPLOYMENT, path: `${C0}.securityContext.runAsUser` });
    expect(findings[0]?.message).toContain('container "demo" has no numeric runAsUser (got not set)');
    expect(findings[0]?.message).toContain('prom/prometheus, prom/alertmanager and node-exporter run as "nobody"');
    expect(findings[0]?.message).toContain("CreateContainerConfigError");
    expect(findings[0]?.message).toContain("65534 (nobody)");
  });

  it("numeric-user: refuses uid 0 and a uid given as a string", () => {
    expect(deploymentWith((d) => (d.spec.template.spec.containers[0].securityContext.runAsUser = 0))[0]?.message).toMatch(/^container "demo" runs as uid 0 \(root\)/);
    expect(deploymentWith((d) => (d.spec.template.spec.containers[0].securityContext.runAsUser = "65534"))[0]?.message).toContain('(got "65534")');
  });

  it("read-only-root-filesystem: on init containers too", () => {
    const findings = deploymentWith((d) => {
      const init = compliantContainer("init-config");
      delete init.livenessProbe;
      delete init.readinessProbe;
      init.securityContext.readOnlyRootFilesystem = false;
      d.spec.template.spec.initContainers = [init];
    });
    expect(findings).toEqual([
      {
        check: "read-only-root-filesystem",
        object: DEPLOYMENT,
        path: `${POD}.initContainers[0].securityContext.readOnlyRootFilesystem`,
        message: 'container "init-config" has a writable root filesystem (readOnlyRootFilesystem is false); set it to true and mount an emptyDir where the program writes',
      },
    ]);
  });

  it("no-privilege-escalation: not setting it means true", () => {
    expect(deploymentWith((d) => delete d.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation)).toEqual([
      {
        check: "no-privilege-escalation",
        object: DEPLOYMENT,
        path: `${C0}.securityContext.allowPrivilegeEscalation`,
        message: 'container "demo" may gain privileges (allowPrivilegeEscalation is not set, and it defaults to true); set it to false',
      },
    ]);
  });

  it("drop-all-capabilities", () => {
    expect(deploymentWith((d) => (d.spec.template.spec.containers[0].securityContext.capabilities = { drop: ["NET_RAW"] }))).toEqual([
      {
        check: "drop-all-capabilities",
        object: DEPLOYMENT,
        path: `${C0}.securityContext.capabilities.drop`,
        message: 'container "demo" keeps the runtime\'s default capabilities (capabilities.drop is ["NET_RAW"]); drop "ALL"',
      },
    ]);
  });

  it("seccomp-runtime-default: pod-level RuntimeDefault is enough, Unconfined is not", () => {
    expect(deploymentWith((d) => delete d.spec.template.spec.containers[0].securityContext.seccompProfile)).toEqual([]);
    expect(deploymentWith((d) => (d.spec.template.spec.containers[0].securityContext.seccompProfile = { type: "Unconfined" }))).toEqual([
      {
        check: "seccomp-runtime-default",
        object: DEPLOYMENT,
        path: `${C0}.securityContext.seccompProfile.type`,
        message: 'container "demo" runs with seccomp profile "Unconfined"; set seccompProfile.type to RuntimeDefault in the pod\'s or the container\'s securityContext',
      },
    ]);
  });

  it("not-privileged", () => {
    expect(deploymentWith((d) => (d.spec.template.spec.containers[0].securityContext.privileged = true))).toEqual([
      {
        check: "not-privileged",
        object: DEPLOYMENT,
        path: `${C0}.securityContext.privileged`,
        message: 'container "demo" is privileged: it has every capability and access to the host\'s devices',
      },
    ]);
  });
});

describe("checkSecurityPolicy: resources, probes, images", () => {
  it("resources: each missing request and limit at its own path, cpu limit as its own rule", () => {
    const findings = deploymentWith((d) => (d.spec.template.spec.containers[0].resources = {}));
    expect(findings.map((f) => [f.check, f.path])).toEqual([
      ["resources", `${C0}.resources.requests.cpu`],
      ["resources", `${C0}.resources.requests.memory`],
      ["resources", `${C0}.resources.limits.memory`],
      ["cpu-limit", `${C0}.resources.limits.cpu`],
    ]);
    expect(findings[2]?.message).toBe('container "demo" has no memory limit: one leak can exhaust the node');
  });

  it("cpu-limit: can be exempted alone, resources still apply", () => {
    const findings = deploymentWith((d) => {
      delete d.spec.template.spec.containers[0].resources.limits.cpu;
      exempt(d, "cpu-limit", "CPU limits throttle the TSDB compaction");
    });
    expect(findings).toEqual([]);
  });

  it("resources: a request above its limit", () => {
    expect(deploymentWith((d) => (d.spec.template.spec.containers[0].resources.requests.memory = "1Gi"))).toEqual([
      {
        check: "resources",
        object: DEPLOYMENT,
        path: `${C0}.resources.requests.memory`,
        message: 'container "demo" requests memory "1Gi", more than its limit "128Mi"; the API server refuses this',
      },
    ]);
  });

  it("probes: required on long-running containers", () => {
    expect(deploymentWith((d) => delete d.spec.template.spec.containers[0].readinessProbe)).toEqual([
      { check: "probes", object: DEPLOYMENT, path: `${C0}.readinessProbe`, message: 'container "demo" has no readinessProbe' },
    ]);
  });

  it("probes: not required on Jobs, CronJobs or init containers", () => {
    const podSpec = compliantPodSpec();
    delete podSpec.containers[0].livenessProbe;
    delete podSpec.containers[0].readinessProbe;
    podSpec.restartPolicy = "OnFailure";
    const template = { metadata: { labels: { ...LABELS } }, spec: podSpec };
    const job = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "migrate", namespace: NAMESPACE }, spec: { template } };
    const cronJob = { apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "retention", namespace: NAMESPACE }, spec: { schedule: "@daily", jobTemplate: { spec: { template } } } };
    expect(checkSecurityPolicy([job, cronJob, networkPolicy()])).toEqual([]);
  });

  it("finds CronJob pods at spec.jobTemplate.spec.template", () => {
    const podSpec = compliantPodSpec();
    podSpec.hostPID = true;
    const cronJob = {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "retention", namespace: NAMESPACE },
      spec: { schedule: "@daily", jobTemplate: { spec: { template: { metadata: { labels: { ...LABELS } }, spec: podSpec } } } },
    };
    expect(checkSecurityPolicy([cronJob, networkPolicy()])).toEqual([
      {
        check: "host-namespaces",
        object: "CronJob/monitoring/retention",
        path: "spec.jobTemplate.spec.template.spec.hostPID",
        message: "hostPID is true: the pod shares the node's process namespace",
      },
    ]);
  });

  it("image-pinned: no tag, :latest; a digest or a registry port is fine", () => {
    const image = (value: string) => deploymentWith((d) => (d.spec.template.spec.containers[0].image = value));
    expect(image("ghcr.io/example/demo")).toEqual([
      {
        check: "image-pinned",
        object: DEPLOYMENT,
        path: `${C0}.image`,
        message: 'image "ghcr.io/example/demo" of container "demo" has no tag, so it means :latest and changes under the stack; pin a version from src/config/versions.ts',
      },
    ]);
    expect(image("registry.local:5000/obstack/ingest")[0]?.message).toContain("has no tag");
    expect(image("grafana/grafana:latest")[0]?.message).toBe(
      'image "grafana/grafana:latest" of container "demo" is tagged :latest, which changes under the stack; pin a version from src/config/versions.ts',
    );
    expect(image(`quay.io/prometheus/node-exporter@sha256:${"a".repeat(64)}`)).toEqual([]);
    expect(image("registry.local:5000/obstack/ingest:0.1.0")).toEqual([]);
  });
});

describe("checkSecurityPolicy: host access", () => {
  it("host-namespaces: each flag", () => {
    const findings = deploymentWith((d) => Object.assign(d.spec.template.spec, { hostNetwork: true, hostIPC: true }));
    expect(findings.map((f) => [f.check, f.path, f.message])).toEqual([
      ["host-namespaces", `${POD}.hostNetwork`, "hostNetwork is true: the pod shares the node's network namespace"],
      ["host-namespaces", `${POD}.hostIPC`, "hostIPC is true: the pod shares the node's IPC namespace"],
    ]);
  });

  it("host-path", () => {
    const findings = deploymentWith((d) => d.spec.template.spec.volumes.push({ name: "proc", hostPath: { path: "/proc" } }));
    expect(findings).toEqual([{ check: "host-path", object: DEPLOYMENT, path: `${POD}.volumes[1].hostPath`, message: 'volume "proc" mounts the host path "/proc"' }]);
  });
});

describe("checkSecurityPolicy: writable paths of known images", () => {
  it("Grafana needs /var/lib/grafana writable", () => {
    const findings = deploymentWith((d) => (d.spec.template.spec.containers[0].image = "grafana/grafana:10.4.2"));
    expect(findings).toEqual([
      {
        check: "writable-paths",
        object: DEPLOYMENT,
        path: `${C0}.volumeMounts`,
        message:
          'container "demo" (grafana/grafana) writes to /var/lib/grafana, but its root filesystem is read-only and no writable volume (emptyDir or PersistentVolumeClaim) is mounted there',
      },
    ]);
  });

  it("a read-only mount or a ConfigMap volume does not count", () => {
    const findings = deploymentWith((d) => {
      const spec = d.spec.template.spec;
      spec.containers[0].image = "grafana/grafana:10.4.2";
      spec.volumes.push({ name: "data", emptyDir: {} }, { name: "dashboards", configMap: { name: "dashboards" } });
      spec.containers[0].volumeMounts.push({ name: "data", mountPath: "/var/lib/grafana", readOnly: true }, { name: "dashboards", mountPath: "/var/lib/grafana/dashboards" });
    });
    expect(findings.map((f) => f.check)).toEqual(["writable-paths"]);
  });

  it("Prometheus: the --storage.tsdb.path on a StatefulSet claim", () => {
    const [deployment] = compliantSet() as [Obj];
    const statefulSet = {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "prometheus", namespace: NAMESPACE },
      spec: {
        ...deployment.spec,
        serviceName: "prometheus",
        volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }],
      },
    };
    const container = statefulSet.spec.template.spec.containers[0];
    container.image = "quay.io/prometheus/prometheus:v2.53.0";
    container.args = ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/data/tsdb"];
    expect(checkSecurityPolicy([statefulSet, networkPolicy()]).map((f) => f.message)).toEqual([
      'container "demo" (prometheus/prometheus) writes to /data/tsdb, but its root filesystem is read-only and no writable volume (emptyDir or PersistentVolumeClaim) is mounted there',
    ]);
    container.volumeMounts.push({ name: "data", mountPath: "/data" });
    expect(checkSecurityPolicy([statefulSet, networkPolicy()])).toEqual([]);
  });
});

describe("checkSecurityPolicy: network policy", () => {
  it("fails without a NetworkPolicy selecting the pod", () => {
    const [deployment] = compliantSet();
    expect(checkSecurityPolicy([deployment])).toEqual([
      {
        check: "network-policy",
        object: DEPLOYMENT,
        path: "spec.template.metadata.labels",
        message: 'no NetworkPolicy in namespace "monitoring" selects the pod\'s labels {app.kubernetes.io/name=demo, app.kubernetes.io/part-of=obstack}, so it accepts traffic from anywhere',
      },
    ]);
  });

  it("a policy in another namespace or for other labels does not count", () => {
    const [deployment] = compliantSet();
    const elsewhere = networkPolicy(undefined, "default");
    const other = networkPolicy({ matchLabels: { "app.kubernetes.io/name": "grafana" } });
    expect(checkSecurityPolicy([deployment, elsewhere, other]).map((f) => f.check)).toEqual(["network-policy"]);
  });

  it("an empty podSelector (default deny) selects every pod of its namespace", () => {
    const [deployment] = compliantSet();
    expect(checkSecurityPolicy([deployment, networkPolicy({})])).toEqual([]);
  });

  it("matchExpressions are evaluated", () => {
    const [deployment] = compliantSet();
    const notIn = networkPolicy({ matchExpressions: [{ key: "app.kubernetes.io/name", operator: "NotIn", values: ["demo"] }] });
    expect(checkSecurityPolicy([deployment, notIn]).map((f) => f.check)).toEqual(["network-policy"]);
  });
});

describe("checkSecurityPolicy: service-account token", () => {
  const serviceAccount = (automount?: boolean): Obj => ({
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "demo", namespace: NAMESPACE },
    ...(automount === undefined ? {} : { automountServiceAccountToken: automount }),
  });
  const binding = (kind: "RoleBinding" | "ClusterRoleBinding", subject: Obj): Obj => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind,
    metadata: kind === "RoleBinding" ? { name: "demo", namespace: NAMESPACE } : { name: "demo" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
    subjects: [subject],
  });
  const withToken = (d: Obj): void => {
    delete d.spec.template.spec.automountServiceAccountToken;
    d.spec.template.spec.serviceAccountName = "demo";
  };

  it("fails when the pod gets a token its account has no role for", () => {
    expect(deploymentWith(withToken, [serviceAccount()])).toEqual([
      {
        check: "service-account-token",
        object: DEPLOYMENT,
        path: `${POD}.automountServiceAccountToken`,
        message:
          'the pod gets a token of ServiceAccount "demo" (automountServiceAccountToken is not set, the ServiceAccount\'s is not set) but no RoleBinding or ClusterRoleBinding in the stack grants that account a role; set automountServiceAccountToken: false, since only components that call the API need a token',
      },
    ]);
  });

  it("the ServiceAccount's own automountServiceAccountToken: false is enough", () => {
    expect(deploymentWith(withToken, [serviceAccount(false)])).toEqual([]);
  });

  it("passes when a ClusterRoleBinding or a RoleBinding (subject namespace defaulted) grants a role", () => {
    expect(deploymentWith(withToken, [binding("ClusterRoleBinding", { kind: "ServiceAccount", name: "demo", namespace: NAMESPACE })])).toEqual([]);
    expect(deploymentWith(withToken, [binding("RoleBinding", { kind: "ServiceAccount", name: "demo" })])).toEqual([]);
    expect(deploymentWith(withToken, [binding("ClusterRoleBinding", { kind: "ServiceAccount", name: "demo", namespace: "other" })]).map((f) => f.check)).toEqual([
      "service-account-token",
    ]);
  });

  it("fails when a bound account's pod mounts no token", () => {
    const findings = deploymentWith((d) => (d.spec.template.spec.serviceAccountName = "demo"), [binding("RoleBinding", { kind: "ServiceAccount", name: "demo" })]);
    expect(findings).toEqual([
      {
        check: "service-account-token",
        object: DEPLOYMENT,
        path: `${POD}.automountServiceAccountToken`,
        message:
          'ServiceAccount "demo" is granted a role by RoleBinding/monitoring/demo but the pod mounts no token (automountServiceAccountToken is false), so the component cannot use the API it was given',
      },
    ]);
  });
});

describe("checkSecurityPolicy: exemptions", () => {
  const hostNetwork = (d: Obj): void => {
    d.spec.template.spec.hostNetwork = true;
  };

  it("an exemption with a reason removes the rule's findings, and listExemptions reports it", () => {
    const [deployment, policy] = compliantSet() as [Obj, Obj];
    hostNetwork(deployment);
    exempt(deployment, "host-namespaces", "node-exporter reads the host's network and process statistics");
    expect(checkSecurityPolicy([deployment, policy])).toEqual([]);
    expect(listExemptions([deployment, policy])).toEqual([
      { object: DEPLOYMENT, rule: "host-namespaces", reason: "node-exporter reads the host's network and process statistics" },
    ]);
  });

  it("an exemption exempts only its own rule", () => {
    const findings = deploymentWith((d) => {
      hostNetwork(d);
      d.spec.template.spec.volumes.push({ name: "sys", hostPath: { path: "/sys" } });
      exempt(d, "host-namespaces", "reads host network statistics");
    });
    expect(findings.map((f) => f.check)).toEqual(["host-path"]);
  });

  it("an empty reason is a finding and exempts nothing", () => {
    const findings = deploymentWith((d) => {
      hostNetwork(d);
      exempt(d, "host-namespaces", "  ");
    });
    expect(findings).toEqual([
      {
        check: "exemption",
        object: DEPLOYMENT,
        path: 'spec.template.metadata.annotations["exemptions.obstack.io/host-namespaces"]',
        message: 'exemption from "host-namespaces" has no reason (got "  "); write why the component needs it',
      },
      { check: "host-namespaces", object: DEPLOYMENT, path: `${POD}.hostNetwork`, message: "hostNetwork is true: the pod shares the node's network namespace" },
    ]);
    expect(listExemptions([compliantDeployment()])).toEqual([]);
  });

  it("an unknown rule id is a finding, with a suggestion", () => {
    const findings = deploymentWith((d) => {
      hostNetwork(d);
      exempt(d, "host-namespace", "reads host network statistics");
    });
    expect(findings[0]).toEqual({
      check: "exemption",
      object: DEPLOYMENT,
      path: 'spec.template.metadata.annotations["exemptions.obstack.io/host-namespace"]',
      message: `exemption names unknown rule "host-namespace" (did you mean "host-namespaces"?); rules are ${Object.keys(POLICY_RULES).join(", ")}`,
    });
    expect(findings.map((f) => f.check)).toEqual(["exemption", "host-namespaces"]);
  });

  it("an exemption on the workload's own metadata is a finding and exempts nothing", () => {
    const findings = deploymentWith((d) => {
      hostNetwork(d);
      d.metadata.annotations = { "exemptions.obstack.io/host-namespaces": "reads host network statistics" };
    });
    expect(findings).toContainEqual({
      check: "exemption",
      object: DEPLOYMENT,
      path: 'metadata.annotations["exemptions.obstack.io/host-namespaces"]',
      message: "exemptions are read from the pod template's annotations (spec.template.metadata.annotations), not from the Deployment's own metadata; this one has no effect",
    });
    expect(findings.map((f) => f.check)).toContain("host-namespaces");
  });

  it("an exemption the pod does not need is a finding", () => {
    expect(deploymentWith((d) => exempt(d, "host-path", "reads /proc"))).toEqual([
      {
        check: "exemption",
        object: DEPLOYMENT,
        path: 'spec.template.metadata.annotations["exemptions.obstack.io/host-path"]',
        message: 'the pod is exempted from "host-path" but satisfies it; remove the exemption so that a regression shows',
      },
    ]);
  });

  it("a bare Pod's exemptions are on its own metadata", () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "debug", namespace: NAMESPACE, labels: { ...LABELS }, annotations: { "exemptions.obstack.io/host-namespaces": "debug pod" } },
      spec: { ...compliantPodSpec(), hostPID: true },
    };
    expect(checkSecurityPolicy([pod, networkPolicy()])).toEqual([]);
    expect(listExemptions([pod])).toEqual([{ object: "Pod/monitoring/debug", rule: "host-namespaces", reason: "debug pod" }]);
  });
});
