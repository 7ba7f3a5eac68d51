import { describe, expect, it } from "vitest";
import {
  closestName,
  dns1123SubdomainErrors,
  formatPath,
  labelValueErrors,
  objectRef,
  parseImageReference,
  parseQuantity,
  pointerToSegments,
  qualifiedNameErrors,
  selectorMatches,
} from "../../src/validate/index.js";

describe("paths and references", () => {
  it("formats paths with indexes and quoted non-identifier keys", () => {
    expect(formatPath(["spec", "template", "metadata", "labels", "app.kubernetes.io/name"])).toBe('spec.template.metadata.labels["app.kubernetes.io/name"]');
    expect(formatPath(["spec", "containers", 0, "image"])).toBe("spec.containers[0].image");
  });

  it("reads JSON pointers, telling array indexes from digit map keys", () => {
    const root = { data: { "0": "x" }, list: ["a"], "a/b": { "c~d": 1 } };
    expect(pointerToSegments("/data/0", root)).toEqual(["data", "0"]);
    expect(pointerToSegments("/list/0", root)).toEqual(["list", 0]);
    expect(pointerToSegments("/a~1b/c~0d", root)).toEqual(["a/b", "c~d"]);
  });

  it("names objects Kind/namespace/name or Kind/name", () => {
    expect(objectRef({ kind: "Service", metadata: { name: "grafana", namespace: "monitoring" } })).toBe("Service/monitoring/grafana");
    expect(objectRef({ kind: "ClusterRole", metadata: { name: "reader" } })).toBe("ClusterRole/reader");
    expect(objectRef({ kind: "ConfigMap" }, 4)).toBe("ConfigMap/<no name #4>");
  });
});

describe("Kubernetes syntax", () => {
  it("validates DNS subdomains and qualified names", () => {
    expect(dns1123SubdomainErrors("grafana.monitoring")).toEqual([]);
    expect(dns1123SubdomainErrors("-grafana")).toHaveLength(1);
    expect(qualifiedNameErrors("app.kubernetes.io/name")).toEqual([]);
    expect(qualifiedNameErrors("Example.com/name")).toEqual([
      "prefix part must be a lowercase RFC 1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
    ]);
    expect(qualifiedNameErrors(`x/${"n".repeat(64)}`)).toEqual(["name part must be no more than 63 characters (has 64)"]);
  });

  it("validates label values", () => {
    expect(labelValueErrors("")).toEqual([]);
    expect(labelValueErrors("v2.53.0")).toEqual([]);
    expect(labelValueErrors("-x")).toHaveLength(1);
  });

  it("evaluates label selectors", () => {
    const labels = { app: "grafana", tier: "ui" };
    expect(selectorMatches({}, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: "grafana" } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: "grafana", tier: "db" } }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: "env", operator: "DoesNotExist" }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: "tier", operator: "In", values: ["db"] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: "tier", operator: "Bogus" }] }, labels)).toBe(false);
    expect(selectorMatches(undefined, labels)).toBe(false);
  });

  it("parses quantities", () => {
    expect(parseQuantity("500m")).toBe(0.5);
    expect(parseQuantity("1Gi")).toBe(2 ** 30);
    expect(parseQuantity("1G")).toBe(1e9);
    expect(parseQuantity("1e3")).toBe(1000);
    expect(parseQuantity(2)).toBe(2);
    expect(parseQuantity("1GB")).toBeUndefined();
  });
});

describe("image references", () => {
  it("splits registry, repository, tag and digest", () => {
    expect(parseImageReference("prom/prometheus:v2.53.0")).toEqual({ registry: undefined, repository: "prom/prometheus", tag: "v2.53.0", digest: undefined });
    expect(parseImageReference("localhost:5000/ingest")).toEqual({ registry: "localhost:5000", repository: "ingest", tag: undefined, digest: undefined });
    expect(parseImageReference("docker.elastic.co/elasticsearch/elasticsearch:8.13.4@sha256:abc")).toEqual({
      registry: "docker.elastic.co",
      repository: "elasticsearch/elasticsearch",
      tag: "8.13.4",
      digest: "sha256:abc",
    });
  });
});

describe("closestName", () => {
  it("suggests near misses only", () => {
    expect(closestName("replica", ["replicas", "selector"])).toBe("replicas");
    expect(closestName("ContainerPort", ["containerPort", "name"])).toBe("containerPort");
    expect(closestName("banana", ["replicas", "selector"])).toBeUndefined();
  });
});
