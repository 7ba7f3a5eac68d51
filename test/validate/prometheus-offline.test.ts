import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { toOfflineConfig } from "../../src/validate/index.js";

const SA = "/var/run/secrets/kubernetes.io/serviceaccount";

function config(scrape: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ global: { scrape_interval: "30s" }, ...extra, scrape_configs: scrape });
}

describe("toOfflineConfig", () => {
  it("replaces kubernetes_sd_configs by a file SD per job and keeps the rest of the job", () => {
    const relabel = [{ action: "keep", regex: "x", source_labels: ["a"] }];
    const text = config([{ job_name: "kubernetes-pods", kubernetes_sd_configs: [{ role: "pod" }], relabel_configs: relabel }]);
    const offline = toOfflineConfig(text, "/scratch");
    expect(parse(offline.text)).toEqual({
      global: { scrape_interval: "30s" },
      scrape_configs: [{ job_name: "kubernetes-pods", relabel_configs: relabel, file_sd_configs: [{ files: ["/scratch/targets/kubernetes-pods.json"] }] }],
    });
    expect(offline.findings).toEqual([]);
    expect(offline.changes).toEqual([
      "replaced scrape_configs[0].kubernetes_sd_configs by a file SD reading /scratch/targets/kubernetes-pods.json: Debian's Prometheus 2.42 is built without Kubernetes discovery (checked by obstack instead)",
    ]);
  });

  it("does the same for alerting.alertmanagers, and removes other unsupported SDs unchecked", () => {
    const text = config([{ job_name: "c", consul_sd_configs: [{ server: "consul:8500" }] }], {
      alerting: { alertmanagers: [{ kubernetes_sd_configs: [{ role: "endpoints" }] }] },
    });
    const offline = toOfflineConfig(text, "/scratch");
    expect(offline.changes).toEqual([
      "removed scrape_configs[0].consul_sd_configs: Debian's Prometheus 2.42 is built without it (not checked)",
      "replaced alerting.alertmanagers[0].kubernetes_sd_configs by a file SD reading /scratch/targets/alertmanagers-0.json: Debian's Prometheus 2.42 is built without Kubernetes discovery (checked by obstack instead)",
    ]);
    expect(parse(offline.text).alerting).toEqual({ alertmanagers: [{ file_sd_configs: [{ files: ["/scratch/targets/alertmanagers-0.json"] }] }] });
    expect(parse(offline.text).scrape_configs).toEqual([{ job_name: "c" }]);
  });

  it("checks the replaced kubernetes_sd_configs as Prometheus 2.42 would", () => {
    const text = config([
      { job_name: "a", kubernetes_sd_configs: [{ role: "pods" }] },
      { job_name: "b", kubernetes_sd_configs: [{ role: "pod", selectors: [{ role: "service", label: "a=b" }], namespace: { names: ["x"] } }] },
      { job_name: "c", kubernetes_sd_configs: [{ role: "node", bearer_token_file: `${SA}/token` }] },
      { job_name: "d", kubernetes_sd_configs: [{ role: "endpoints", namespaces: { names: ["Shop"] } }] },
    ]);
    const at = (path: string, message: string) => ({ check: "kubernetes-sd-config", object: "prometheus.yml", path, message });
    expect(toOfflineConfig(text, "/scratch").findings).toEqual([
      at("scrape_configs[0].kubernetes_sd_configs[0].role", 'role must be one of endpoints, endpointslice, ingress, node, pod, service, got "pods"'),
      at("scrape_configs[1].kubernetes_sd_configs[0].namespace", "field namespace not found in type kubernetes.SDConfig"),
      at("scrape_configs[1].kubernetes_sd_configs[0].selectors[0].role", "role pod can only select pod, not service"),
      at(
        "scrape_configs[2].kubernetes_sd_configs[0].bearer_token_file",
        "bearer_token_file needs an explicit api_server: in-cluster discovery uses the pod's service-account token and CA",
      ),
      at("scrape_configs[3].kubernetes_sd_configs[0].namespaces.names[0]", '"Shop" cannot be a namespace name (a DNS-1123 label), so nothing would be discovered'),
    ]);
  });

  it("maps in-pod paths and lists the files promtool will open", () => {
    const text = config(
      [
        {
          job_name: "kubelet",
          scheme: "https",
          tls_config: { ca_file: `${SA}/ca.crt`, insecure_skip_verify: true },
          authorization: { credentials_file: `${SA}/token` },
          static_configs: [{ targets: ["node:10250"] }],
        },
        { job_name: "files", file_sd_configs: [{ files: ["/etc/prometheus/targets/*.json"] }] },
      ],
      { rule_files: ["/etc/prometheus/rules/*.yaml", "extra/recording.yaml"] },
    );
    const offline = toOfflineConfig(text, "/scratch", { [SA]: "/scratch/sa", "/etc/prometheus/rules/": "/scratch/rules", "/etc/prometheus/targets": "/scratch/targets" });
    const parsed = parse(offline.text);
    expect(parsed.rule_files).toEqual(["/scratch/rules/*.yaml", "extra/recording.yaml"]);
    expect(parsed.scrape_configs[0].tls_config.ca_file).toBe("/scratch/sa/ca.crt");
    expect(parsed.scrape_configs[0].authorization.credentials_file).toBe("/scratch/sa/token");
    expect(parsed.scrape_configs[1].file_sd_configs[0].files).toEqual(["/scratch/targets/*.json"]);
    // ca_file is not opened by promtool 2.42; the relative rule file resolves against root.
    expect(offline.placeholderFiles).toEqual(["/scratch/extra/recording.yaml", "/scratch/sa/token"]);
  });

  it("reports a YAML error instead of throwing", () => {
    const offline = toOfflineConfig("scrape_configs: [\n", "/scratch");
    expect(offline.findings).toHaveLength(1);
    expect(offline.findings[0]).toMatchObject({ check: "prometheus-config", object: "prometheus.yml" });
    expect(offline.findings[0]?.message).toMatch(/^YAML error: /);
  });
});
