import { isAbsolute, join, posix } from "node:path";
import { parseDocument } from "yaml";
import type { Finding } from "./finding.js";
import { formatPath, type PathSegment } from "./json-path.js";
import { arrayAt, isRecord, stringAt } from "./kubernetes-object.js";
import { checkKubernetesSdConfig } from "./kubernetes-sd-config.js";

/**
 * Service discovery kinds that Debian's promtool 2.42 and Prometheus 2.42
 * (package `prometheus`) are built without, found by trying each: they refuse
 * them with `field kubernetes_sd_configs not found in type config.ScrapeConfig`.
 */
export const SD_KINDS_UNSUPPORTED_BY_DEBIAN_PROMETHEUS = [
  "kubernetes_sd_configs",
  "consul_sd_configs",
  "nomad_sd_configs",
  "linode_sd_configs",
  "kuma_sd_configs",
] as const;

export interface OfflineConfig {
  /** The prometheus.yml to give promtool or a local Prometheus. */
  readonly text: string;
  /**
   * The files promtool 2.42 opens, after mapping, resolved against `root`:
   * non-glob rule_files, each scrape config's authorization.credentials_file
   * or bearer_token_file, and tls_config cert_file / key_file. The caller
   * writes placeholders for those that do not exist.
   */
  readonly placeholderFiles: readonly string[];
  /** Problems in what promtool cannot check (the replaced kubernetes_sd_configs, YAML errors). */
  readonly findings: readonly Finding[];
  /** Each change made, one line each, for verbose output. */
  readonly changes: readonly string[];
}

/**
 * Rewrites a prometheus.yml written for the cluster into one that Debian's
 * promtool and Prometheus 2.42 accept on this machine:
 *
 * - each kubernetes_sd_configs block is checked here (checkKubernetesSdConfig)
 *   and replaced by a file SD reading `<root>/targets/<job>.json` (for
 *   alertmanagers, `alertmanagers-<index>.json`), so a test can feed a real
 *   Prometheus targets carrying `__meta_kubernetes_*` labels and watch the
 *   relabelling work; the other unsupported SDs are removed unchecked;
 * - in-pod directories are mapped to local ones (`podPaths`, prefix →
 *   directory) in every `*_file` field, `rule_files` and file SD `files`.
 *
 * What promtool 2.42's `check config` does with referenced files (tried here,
 * as in cmd/promtool/main.go): a rule_files entry without '*' must exist and
 * every rule file found is parsed and checked (a glob that matches nothing
 * passes silently, so check rule files on their own as well);
 * authorization.credentials_file and bearer_token_file must exist, as must
 * tls_config cert_file and key_file (and each needs the other); ca_file,
 * basic_auth password_file and oauth2 client_secret_file are not opened; a
 * missing file SD file is only a warning; `--syntax-only` skips all of it.
 *
 * `root` is the directory the rewritten config will be written to, against
 * which relative paths resolve.
 */
export function toOfflineConfig(configText: string, root: string, podPaths: Readonly<Record<string, string>> = {}, object = "prometheus.yml"): OfflineConfig {
  const findings: Finding[] = [];
  const changes: string[] = [];
  const placeholderFiles: string[] = [];
  const doc = parseDocument(configText);
  if (doc.errors.length > 0) {
    for (const error of doc.errors) findings.push({ check: "prometheus-config", object, message: `YAML error: ${error.message}` });
    return { text: configText, placeholderFiles, findings, changes };
  }
  const config: unknown = doc.toJS();
  if (!isRecord(config)) {
    findings.push({ check: "prometheus-config", object, message: "prometheus.yml must be a mapping" });
    return { text: configText, placeholderFiles, findings, changes };
  }

  const holders = [
    ...arrayAt(config, "scrape_configs").map((entry, i) => ({ path: ["scrape_configs", i] as PathSegment[], entry, targets: `${stringAt(entry, "job_name") ?? `job-${i}`}.json` })),
    ...arrayAt(config["alerting"], "alertmanagers").map((entry, i) => ({ path: ["alerting", "alertmanagers", i] as PathSegment[], entry, targets: `alertmanagers-${i}.json` })),
  ];
  for (const { path, entry, targets } of holders) {
    if (!isRecord(entry)) continue;
    for (const kind of SD_KINDS_UNSUPPORTED_BY_DEBIAN_PROMETHEUS) {
      if (entry[kind] === undefined) continue;
      doc.deleteIn([...path, kind]);
      if (kind !== "kubernetes_sd_configs") {
        changes.push(`removed ${formatPath([...path, kind])}: Debian's Prometheus 2.42 is built without it (not checked)`);
        continue;
      }
      const list = entry[kind];
      if (!Array.isArray(list)) findings.push({ check: "kubernetes-sd-config", object, path: formatPath([...path, kind]), message: "kubernetes_sd_configs must be a list" });
      else list.forEach((sd, i) => findings.push(...checkKubernetesSdConfig(sd, [...path, kind, i], object)));
      // Job names are free text; keep the file name to one path segment.
      const file = join(root, "targets", targets.replace(/[^A-Za-z0-9_.-]/g, "_"));
      const fileSd = [...arrayAt(entry, "file_sd_configs"), { files: [file] }];
      doc.setIn([...path, "file_sd_configs"], doc.createNode(fileSd));
      changes.push(`replaced ${formatPath([...path, kind])} by a file SD reading ${file}: Debian's Prometheus 2.42 is built without Kubernetes discovery (checked by obstack instead)`);
    }
  }

  const mapPath = (value: string, at: PathSegment[]): string => {
    for (const [from, to] of Object.entries(podPaths)) {
      const prefix = from.endsWith("/") ? from.slice(0, -1) : from;
      if (value !== prefix && !value.startsWith(`${prefix}/`)) continue;
      const mapped = join(to, value.slice(prefix.length));
      doc.setIn(at, mapped);
      changes.push(`mapped ${formatPath(at)} from ${value} to ${mapped}`);
      return mapped;
    }
    return value;
  };
  const resolve = (file: string): string => (isAbsolute(file) ? file : join(root, file));

  arrayAt(config, "rule_files").forEach((file, i) => {
    if (typeof file !== "string") return;
    const mapped = mapPath(file, ["rule_files", i]);
    if (!mapped.includes("*")) placeholderFiles.push(resolve(mapped));
  });
  walkFileFields(config, [], (value, at) => {
    const mapped = mapPath(value, at);
    if (isOpenedByPromtool(at)) placeholderFiles.push(resolve(mapped));
  });
  return { text: doc.toString({ lineWidth: 0 }), placeholderFiles: [...new Set(placeholderFiles)], findings, changes };
}

/** Calls `visit` for every `*_file` string and every file SD `files` entry. */
function walkFileFields(value: unknown, path: PathSegment[], visit: (file: string, at: PathSegment[]) => void): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => walkFileFields(item, [...path, i], visit));
    return;
  }
  if (!isRecord(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (key.endsWith("_file") && typeof child === "string") visit(child, [...path, key]);
    else if (key === "files" && path[path.length - 2] === "file_sd_configs" && Array.isArray(child)) {
      child.forEach((file, i) => {
        if (typeof file === "string") visit(file, [...path, key, i]);
      });
    } else walkFileFields(child, [...path, key], visit);
  }
}

/** Whether promtool 2.42 opens this file of a scrape config (see toOfflineConfig). */
function isOpenedByPromtool(at: readonly PathSegment[]): boolean {
  if (at[0] !== "scrape_configs" || at.length < 3) return false;
  const rest = posix.join(...at.slice(2).map(String));
  return ["bearer_token_file", "authorization/credentials_file", "tls_config/cert_file", "tls_config/key_file"].includes(rest);
}
