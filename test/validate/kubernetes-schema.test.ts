import { describe, expect, it } from "vitest";
import { validateKubernetesSchema, type Finding } from "../../src/validate/index.js";
import { compliantDeployment, oneOfEachKind, type Obj } from "./fixtures/objects.js";

const DEPLOYMENT = "Deployment/monitoring/demo";

function check(...objects: unknown[]): Finding[] {
  return validateKubernetesSchema(objects);
}

/** The findings of one compliant Deployment with one change applied. */
function deploymentWith(mutate: (d: Obj) => void): Finding[] {
  const deployment = compliantDeployment();
  mutate(deployment);
  return check(deployment);
}

describe("validateKubernetesSchema: valid objects", () => {
  it("accepts one valid object of every kind the stack emits", () => {
    expect(check(...oneOfEachKind())).toEqual([]);
  });

  it("does not judge the keys of maps (ConfigMap data, labels, annotations)", () => {
    const configMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", annotations: { "checksum/config": "abc" } }, data: { "any.key_name": "x", replica: "y" } };
    expect(check(configMap)).toEqual([]);
  });

  it("accepts colons in RBAC names, which are path segments rather than DNS names", () => {
    const role = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "system:obstack-reader" }, rules: [] };
    expect(check(role)).toEqual([]);
  });

  it("does not change the objects it checks", () => {
    const deployment = compliantDeployment();
    const before = structuredClone(deployment);
    check(deployment);
    expect(deployment).toEqual(before);
  });

  it("accepts frozen objects", () => {
    const deployment = compliantDeployment();
    const freeze = (v: unknown): unknown => (v !== null && typeof v === "object" ? Object.freeze(Object.values(v).forEach(freeze) ?? v) : v);
    freeze(deployment);
    expect(check(deployment)).toEqual([]);
  });
});

describe("validateKubernetesSchema: kinds", () => {
  it("refuses a kind under an apiVersion 1.27 no longer serves, naming the one it does", () => {
    const old = { ...compliantDeployment(), apiVersion: "extensions/v1beta1" };
    expect(check(old)).toContainEqual({
      check: "unknown-kind",
      object: DEPLOYMENT,
      message: 'Deployment is not served as "extensions/v1beta1" by Kubernetes 1.27; use apiVersion "apps/v1"',
    });
  });

  it("refuses kinds kubernetes-models ships but a 1.27 server does not serve", () => {
    const ip = { apiVersion: "networking.k8s.io/v1", kind: "IPAddress", metadata: { name: "10.0.0.1" }, spec: {} };
    expect(check(ip).map((f) => f.check)).toContain("unknown-kind");
  });

  it("refuses a custom resource", () => {
    const rule = { apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", metadata: { name: "r", namespace: "monitoring" } };
    expect(check(rule)).toContainEqual({
      check: "unknown-kind",
      object: "PrometheusRule/monitoring/r",
      message: '"monitoring.coreos.com/v1" PrometheusRule is not a built-in kind the stack emits for Kubernetes 1.27 (see src/validate/kubernetes-kinds.ts)',
    });
  });

  it("refuses an object without kind, and a value that is not an object", () => {
    const findings = check({ apiVersion: "v1", metadata: { name: "x" } }, "text");
    expect(findings).toContainEqual({
      check: "unknown-kind",
      object: "<no kind>/x",
      message: 'apiVersion and kind are required, got apiVersion "v1" and kind nothing',
    });
    expect(findings).toContainEqual({ check: "schema", object: "<object #1>", message: 'a manifest must be an object, got "text"' });
  });
});

describe("validateKubernetesSchema: unknown fields", () => {
  it("refuses spec.replica and suggests replicas", () => {
    expect(deploymentWith((d) => (d.spec.replica = 2))).toEqual([
      { check: "unknown-field", object: DEPLOYMENT, path: "spec.replica", message: 'unknown field "replica" in apps/v1 Deployment (did you mean "replicas"?)' },
    ]);
  });

  // Pins the property-read tracing (schema-trace.ts) at every depth: if a
  // kubernetes-models upgrade stops reading declared properties, this fails.
  it("finds typos at every depth of the object", () => {
    const findings = deploymentWith((d) => {
      d.metadata.label = {};
      d.spec.template.metadata.annotation = {};
      const container = d.spec.template.spec.containers[0];
      container.imagePullPolicyy = "Always";
      container.ports[0].containerport = 80;
      container.securityContext.capabilities.dropp = ["ALL"];
      container.livenessProbe.httpGet.paht = "/x";
      d.spec.template.spec.volumes[0].emptyDir.sizelimit = "1Gi";
    });
    expect(findings.filter((f) => f.check === "unknown-field").map((f) => f.path).sort()).toEqual([
      "metadata.label",
      "spec.template.metadata.annotation",
      "spec.template.spec.containers[0].imagePullPolicyy",
      "spec.template.spec.containers[0].livenessProbe.httpGet.paht",
      "spec.template.spec.containers[0].ports[0].containerport",
      "spec.template.spec.containers[0].securityContext.capabilities.dropp",
      "spec.template.spec.volumes[0].emptyDir.sizelimit",
    ]);
    expect(findings.every((f) => f.check === "unknown-field")).toBe(true);
    expect(findings.find((f) => f.path === "spec.template.spec.volumes[0].emptyDir.sizelimit")?.message).toBe(
      'unknown field "sizelimit" in apps/v1 Deployment (did you mean "sizeLimit"?)',
    );
  });

  it("refuses a misplaced field in a ConfigMap", () => {
    const configMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, datas: { a: "b" } };
    expect(check(configMap)).toEqual([{ check: "unknown-field", object: "ConfigMap/c", path: "datas", message: 'unknown field "datas" in v1 ConfigMap (did you mean "data"?)' }]);
  });
});

describe("validateKubernetesSchema: schema errors", () => {
  it("reports a wrong type with the value found", () => {
    expect(deploymentWith((d) => (d.spec.replicas = "3"))).toEqual([
      { check: "schema", object: DEPLOYMENT, path: "spec.replicas", message: 'must be an integer, got "3"' },
    ]);
  });

  it("reports a missing required field at its own path", () => {
    expect(deploymentWith((d) => delete d.spec.template.spec.containers[0].name)).toEqual([
      { check: "schema", object: DEPLOYMENT, path: "spec.template.spec.containers[0].name", message: 'required field "name" is missing' },
    ]);
  });

  it("reports an enum violation with the allowed values", () => {
    expect(deploymentWith((d) => (d.spec.template.spec.containers[0].ports[0].protocol = "tcp"))).toEqual([
      { check: "schema", object: DEPLOYMENT, path: "spec.template.spec.containers[0].ports[0].protocol", message: 'must be one of "SCTP", "TCP", "UDP", got "tcp"' },
    ]);
  });

  it("merges a quantity's alternatives into one finding", () => {
    expect(deploymentWith((d) => (d.spec.template.spec.containers[0].resources.limits.memory = "128MB"))).toEqual([
      {
        check: "schema",
        object: DEPLOYMENT,
        path: "spec.template.spec.containers[0].resources.limits.memory",
        message: 'must be a number or a quantity such as "500m", "128Mi" or "2", got "128MB"',
      },
    ]);
  });

  it("quotes label keys in paths", () => {
    expect(deploymentWith((d) => (d.metadata.labels["app.kubernetes.io/version"] = 2))).toContainEqual({
      check: "schema",
      object: DEPLOYMENT,
      path: 'metadata.labels["app.kubernetes.io/version"]',
      message: "must be a string, got 2",
    });
  });
});

describe("validateKubernetesSchema: names, labels and annotations", () => {
  it("refuses a name that is not a DNS-1123 subdomain", () => {
    expect(deploymentWith((d) => (d.metadata.name = "Demo_App"))).toEqual([
      {
        check: "object-name",
        object: "Deployment/monitoring/Demo_App",
        path: "metadata.name",
        message:
          'name "Demo_App" is not a DNS-1123 subdomain: must be a lowercase RFC 1123 subdomain: lowercase letters, digits, \'-\' and \'.\', starting and ending with a letter or digit',
      },
    ]);
  });

  it("refuses a Service name starting with a digit (DNS-1035)", () => {
    const service = { apiVersion: "v1", kind: "Service", metadata: { name: "9grafana" }, spec: { ports: [{ port: 80 }] } };
    expect(check(service).map((f) => [f.check, f.path, f.message])).toEqual([
      [
        "object-name",
        "metadata.name",
        'name "9grafana" is not a DNS-1035 label: must be an RFC 1035 label: lowercase letters, digits and \'-\', starting with a letter and ending with a letter or digit',
      ],
    ]);
  });

  it("refuses a missing name and a bad namespace", () => {
    const findings = deploymentWith((d) => {
      delete d.metadata.name;
      d.metadata.namespace = "Monitoring";
    });
    expect(findings.map((f) => [f.path, f.message])).toEqual([
      ["metadata.name", "metadata.name is missing or empty"],
      [
        "metadata.namespace",
        'namespace "Monitoring" is not a DNS-1123 label: must be a lowercase RFC 1123 label: lowercase letters, digits and \'-\', starting and ending with a letter or digit',
      ],
    ]);
  });

  it("refuses a StatefulSet name too long for its pods' controller-revision-hash label", () => {
    const statefulSet = oneOfEachKind().find((o) => o.kind === "StatefulSet") as Obj;
    statefulSet.metadata.name = "a".repeat(53);
    expect(check(statefulSet)).toEqual([
      {
        check: "object-name",
        object: `StatefulSet/monitoring/${"a".repeat(53)}`,
        path: "metadata.name",
        message: `StatefulSet name "${"a".repeat(53)}" has 53 characters, more than 52: its pods get the label controller-revision-hash=<name>-<hash>, which must fit in 63 characters`,
      },
    ]);
  });

  it("refuses a label value over 63 characters, in the pod template too", () => {
    const long = "v".repeat(64);
    expect(deploymentWith((d) => (d.spec.template.metadata.labels["app.kubernetes.io/version"] = long))).toEqual([
      {
        check: "label-syntax",
        object: DEPLOYMENT,
        path: 'spec.template.metadata.labels["app.kubernetes.io/version"]',
        message: `label value "${long}" of key "app.kubernetes.io/version" is invalid: must be no more than 63 characters (has 64)`,
      },
    ]);
  });

  it("refuses invalid label keys and values in selectors", () => {
    const findings = deploymentWith((d) => {
      d.spec.selector.matchLabels = { "bad key": "demo" };
      d.spec.template.metadata.labels["bad key"] = "demo";
    });
    expect(findings).toContainEqual({
      check: "label-syntax",
      object: DEPLOYMENT,
      path: 'spec.selector.matchLabels["bad key"]',
      message: 'label key "bad key" is invalid: name part must consist of alphanumerics, \'-\', \'_\' or \'.\', starting and ending with an alphanumeric',
    });
  });

  it("refuses a label value with characters labels cannot hold", () => {
    expect(deploymentWith((d) => (d.metadata.labels["app.kubernetes.io/version"] = "1.2.3+build"))).toEqual([
      {
        check: "label-syntax",
        object: DEPLOYMENT,
        path: 'metadata.labels["app.kubernetes.io/version"]',
        message: 'label value "1.2.3+build" of key "app.kubernetes.io/version" is invalid: must be empty or consist of alphanumerics, \'-\', \'_\' or \'.\', starting and ending with an alphanumeric',
      },
    ]);
  });

  it("refuses an annotation key with two slashes", () => {
    expect(deploymentWith((d) => (d.metadata.annotations = { "a/b/c": "x" }))).toEqual([
      {
        check: "annotation-syntax",
        object: DEPLOYMENT,
        path: 'metadata.annotations["a/b/c"]',
        message: "annotation key \"a/b/c\" is invalid: must be a name with an optional DNS subdomain prefix and '/' (e.g. 'example.com/my-name'), with one '/' at most",
      },
    ]);
  });

  it("refuses annotations over 256 KiB in total", () => {
    const findings = deploymentWith((d) => (d.metadata.annotations = { big: "x".repeat(256 * 1024) }));
    expect(findings).toEqual([
      { check: "annotation-syntax", object: DEPLOYMENT, path: "metadata.annotations", message: "annotations total 262147 bytes, more than the API server's limit of 262144" },
    ]);
  });
});

describe("validateKubernetesSchema: what the API server refuses beyond the schema", () => {
  it("refuses a selector that does not select the pod template", () => {
    expect(deploymentWith((d) => (d.spec.selector.matchLabels["app.kubernetes.io/name"] = "other"))).toEqual([
      {
        check: "selector-match",
        object: DEPLOYMENT,
        path: "spec.selector",
        message:
          "the selector does not select the pod template's labels {app.kubernetes.io/name=demo, app.kubernetes.io/part-of=obstack} (matchLabels {app.kubernetes.io/name=other}); the API server refuses this",
      },
    ]);
  });

  it("evaluates matchExpressions too", () => {
    const ok = deploymentWith((d) => (d.spec.selector = { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["demo", "x"] }] }));
    expect(ok).toEqual([]);
    const bad = deploymentWith((d) => (d.spec.selector = { matchExpressions: [{ key: "tier", operator: "Exists" }] }));
    expect(bad.map((f) => f.check)).toEqual(["selector-match"]);
  });

  it("refuses an empty selector", () => {
    expect(deploymentWith((d) => (d.spec.selector = {}))).toEqual([
      { check: "selector-match", object: DEPLOYMENT, path: "spec.selector", message: "the selector is empty, which the API server refuses for a Deployment" },
    ]);
  });

  it("refuses a Job selector without manualSelector", () => {
    const job = oneOfEachKind().find((o) => o.kind === "Job") as Obj;
    job.spec.selector = { matchLabels: { "app.kubernetes.io/name": "demo" } };
    expect(check(job)).toEqual([
      {
        check: "selector-match",
        object: "Job/monitoring/migrate",
        path: "spec.selector",
        message: "a Job's selector is generated by the API server; setting one needs spec.manualSelector: true, else the object is refused",
      },
    ]);
  });

  it("refuses fields newer than Kubernetes 1.27 that kubernetes-models accepts", () => {
    const findings = deploymentWith((d) => {
      const container = d.spec.template.spec.containers[0];
      container.lifecycle = { stopSignal: "SIGTERM", preStop: { sleep: { seconds: 5 } } };
      d.spec.template.spec.initContainers = [{ ...structuredClone(container), name: "sidecar", restartPolicy: "Always" }];
      delete d.spec.template.spec.initContainers[0].lifecycle;
    });
    expect(findings).toEqual([
      {
        check: "target-version",
        object: DEPLOYMENT,
        path: "spec.template.spec.initContainers[0].restartPolicy",
        message: "spec.template.spec.initContainers[0].restartPolicy was added in Kubernetes 1.28; a 1.27 API server does not know it",
      },
      {
        check: "target-version",
        object: DEPLOYMENT,
        path: "spec.template.spec.containers[0].lifecycle.stopSignal",
        message: "spec.template.spec.containers[0].lifecycle.stopSignal was added in Kubernetes 1.33; a 1.27 API server does not know it",
      },
      {
        check: "target-version",
        object: DEPLOYMENT,
        path: "spec.template.spec.containers[0].lifecycle.preStop.sleep",
        message: "spec.template.spec.containers[0].lifecycle.preStop.sleep was added in Kubernetes 1.29; a 1.27 API server does not know it",
      },
    ]);
  });

  it("refuses a ConfigMap over 1 MiB", () => {
    const configMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "dashboards" }, data: { "big.json": "x".repeat(1024 * 1024) } };
    expect(check(configMap)).toEqual([
      {
        check: "object-size",
        object: "ConfigMap/dashboards",
        path: "data",
        message: "the ConfigMap's data is 1048584 bytes, more than the API server's limit of 1048576; split it (one ConfigMap per dashboard)",
      },
    ]);
  });
});
