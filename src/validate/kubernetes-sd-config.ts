import type { Finding } from "./finding.js";
import { formatPath, type PathSegment } from "./json-path.js";
import { dns1123LabelErrors } from "./kubernetes-names.js";
import { isRecord, stringAt } from "./kubernetes-object.js";

/**
 * The roles of Prometheus 2.42's kubernetes_sd_config, each with the roles
 * its `selectors` may name (discovery/kubernetes/kubernetes.go).
 */
const ALLOWED_SELECTORS: Readonly<Record<string, readonly string[]>> = {
  endpoints: ["pod", "service", "endpoints"],
  endpointslice: ["pod", "service", "endpointslice"],
  ingress: ["ingress"],
  node: ["node"],
  pod: ["pod"],
  service: ["service"],
};

const HTTP_CLIENT_FIELDS = [
  "basic_auth",
  "authorization",
  "oauth2",
  "bearer_token",
  "bearer_token_file",
  "tls_config",
  "proxy_url",
  "no_proxy",
  "proxy_from_environment",
  "proxy_connect_header",
  "follow_redirects",
  "enable_http2",
];

const FIELDS = new Set(["api_server", "role", "kubeconfig_file", "namespaces", "selectors", "attach_metadata", ...HTTP_CLIENT_FIELDS]);

/**
 * Checks one kubernetes_sd_configs entry the way Prometheus 2.42 unmarshals
 * it. Needed because Debian's promtool is built without Kubernetes discovery
 * and cannot check these blocks itself (see prometheus-offline.ts).
 */
export function checkKubernetesSdConfig(config: unknown, path: readonly PathSegment[], object: string): Finding[] {
  const findings: Finding[] = [];
  const add = (at: readonly PathSegment[], message: string): void => {
    findings.push({ check: "kubernetes-sd-config", object, path: formatPath(at), message });
  };
  if (!isRecord(config)) {
    add(path, `a kubernetes_sd_config must be a mapping, got ${JSON.stringify(config)}`);
    return findings;
  }
  for (const key of Object.keys(config)) {
    if (!FIELDS.has(key)) add([...path, key], `field ${key} not found in type kubernetes.SDConfig`);
  }
  const role = config["role"];
  const roles = Object.keys(ALLOWED_SELECTORS);
  if (typeof role !== "string" || !(role in ALLOWED_SELECTORS)) {
    add([...path, "role"], `role must be one of ${roles.join(", ")}, got ${JSON.stringify(role ?? null)}`);
  }
  if (config["api_server"] !== undefined && config["kubeconfig_file"] !== undefined) {
    add([...path, "kubeconfig_file"], "api_server and kubeconfig_file are mutually exclusive");
  }
  // In-cluster discovery and kubeconfig files bring their own credentials; Prometheus refuses client settings on top of them.
  if (config["api_server"] === undefined) {
    for (const field of HTTP_CLIENT_FIELDS) {
      // Prometheus compares with the default client config, in which these two are true; only false differs.
      if (config[field] === undefined || ((field === "follow_redirects" || field === "enable_http2") && config[field] === true)) continue;
      add(
        [...path, field],
        config["kubeconfig_file"] !== undefined
          ? `${field} cannot be used together with kubeconfig_file`
          : `${field} needs an explicit api_server: in-cluster discovery uses the pod's service-account token and CA`,
      );
    }
  }
  const ownNamespace = isRecord(config["namespaces"]) && config["namespaces"]["own_namespace"] === true;
  if (ownNamespace && (config["api_server"] !== undefined || config["kubeconfig_file"] !== undefined)) {
    add([...path, "namespaces", "own_namespace"], "own_namespace only works in-cluster, not with api_server or kubeconfig_file");
  }
  const namespaces = config["namespaces"];
  if (namespaces !== undefined) {
    if (!isRecord(namespaces)) add([...path, "namespaces"], "namespaces must be a mapping with own_namespace and/or names");
    else {
      for (const key of Object.keys(namespaces)) {
        if (key !== "own_namespace" && key !== "names") add([...path, "namespaces", key], `field ${key} not found in type kubernetes.NamespaceDiscovery`);
      }
      const names = namespaces["names"];
      if (names !== undefined && (!Array.isArray(names) || names.some((n) => typeof n !== "string"))) {
        add([...path, "namespaces", "names"], `names must be a list of namespace names, got ${JSON.stringify(names)}`);
      } else if (Array.isArray(names)) {
        // Prometheus accepts any string, but a name that cannot be a namespace discovers nothing, silently.
        names.forEach((name: string, i) => {
          if (dns1123LabelErrors(name).length > 0) add([...path, "namespaces", "names", i], `"${name}" cannot be a namespace name (a DNS-1123 label), so nothing would be discovered`);
        });
      }
    }
  }
  const selectors = config["selectors"];
  if (selectors !== undefined) {
    if (!Array.isArray(selectors)) add([...path, "selectors"], "selectors must be a list");
    else {
      const seen = new Set<string>();
      selectors.forEach((selector, index) => {
        const selectorRole = stringAt(selector, "role");
        const at = [...path, "selectors", index, "role"];
        const allowed = typeof role === "string" ? ALLOWED_SELECTORS[role] : undefined;
        if (selectorRole === undefined || !roles.includes(selectorRole)) add(at, `selector role must be one of ${roles.join(", ")}, got ${JSON.stringify(selectorRole ?? null)}`);
        else if (allowed && !allowed.includes(selectorRole)) add(at, `role ${role} can only select ${allowed.join(", ")}, not ${selectorRole}`);
        else if (seen.has(selectorRole)) add(at, `duplicated selector role: ${selectorRole}`);
        if (selectorRole !== undefined) seen.add(selectorRole);
      });
    }
  }
  return findings;
}
