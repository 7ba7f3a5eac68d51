import type { Finding } from "./finding.js";
import { formatPath } from "./json-path.js";
import { arrayAt, isRecord, recordAt, stringAt, type JsonRecord } from "./kubernetes-object.js";
import { parseImageReference } from "./image-reference.js";
import type { ContainerAt, PodTemplate } from "./pod-templates.js";
import { posix } from "node:path";

/**
 * Where the images the stack runs write at run time. With a read-only root
 * filesystem each path needs a writable volume, or the program fails at start
 * (Grafana cannot create its SQLite database, Elasticsearch its keystore).
 * Known images only: for others nothing is asserted.
 */
interface WriterImage {
  readonly repository: RegExp;
  readonly paths: (container: JsonRecord) => string[];
}

const WRITERS: readonly WriterImage[] = [
  {
    // The image's CMD passes --storage.tsdb.path=/prometheus; with args of our own, Prometheus's default is data/ under WORKDIR /prometheus.
    repository: /^(prom|prometheus)\/prometheus$/,
    paths: (c) => [flagPath(c, "--storage.tsdb.path", "/prometheus")],
  },
  {
    repository: /^(prom|prometheus)\/alertmanager$/,
    paths: (c) => [flagPath(c, "--storage.path", "/alertmanager")],
  },
  {
    repository: /^grafana\/grafana(-oss|-enterprise)?$/,
    paths: (c) => [envValue(c, "GF_PATHS_DATA") ?? "/var/lib/grafana", "/tmp"],
  },
  {
    // The keystore is created in config/, so the config directory must be writable too.
    repository: /^((library\/)?elasticsearch|elasticsearch\/elasticsearch)$/,
    paths: () => ["/usr/share/elasticsearch/data", "/usr/share/elasticsearch/logs", "/usr/share/elasticsearch/config", "/tmp"],
  },
  {
    repository: /^((library\/)?logstash|logstash\/logstash(-oss)?)$/,
    paths: () => ["/usr/share/logstash/data", "/tmp"],
  },
  {
    repository: /^((library\/)?kibana|kibana\/kibana(-oss)?)$/,
    paths: () => ["/usr/share/kibana/data", "/tmp"],
  },
];

/** The writable-paths findings of one container (only when its root filesystem is read-only). */
export function checkWritablePaths(template: PodTemplate, at: ContainerAt): (Finding & { check: "writable-paths" })[] {
  const { container } = at;
  if (recordAt(container, "securityContext")?.["readOnlyRootFilesystem"] !== true) return [];
  const image = stringAt(container, "image");
  if (image === undefined) return [];
  const repository = parseImageReference(image).repository;
  const writer = WRITERS.find((w) => w.repository.test(repository));
  if (!writer) return [];
  const writable = writableVolumeNames(template);
  const mounts = arrayAt(container, "volumeMounts")
    .filter(isRecord)
    .filter((m) => m["readOnly"] !== true && writable.has(String(m["name"])))
    .map((m) => stringAt(m, "mountPath"))
    .filter((p): p is string => p !== undefined)
    .map((p) => posix.normalize(p));
  const findings: (Finding & { check: "writable-paths" })[] = [];
  for (const path of writer.paths(container)) {
    const covered = mounts.some((m) => path === m || path.startsWith(m.endsWith("/") ? m : `${m}/`));
    if (covered) continue;
    findings.push({
      check: "writable-paths",
      object: template.object,
      path: formatPath([...at.path, "volumeMounts"]),
      message: `container "${at.name}" (${repository}) writes to ${path}, but its root filesystem is read-only and no writable volume (emptyDir or PersistentVolumeClaim) is mounted there`,
    });
  }
  return findings;
}

function writableVolumeNames(template: PodTemplate): Set<string> {
  const names = new Set<string>();
  for (const volume of arrayAt(template.spec, "volumes")) {
    const name = stringAt(volume, "name");
    if (name === undefined || !isRecord(volume)) continue;
    if (volume["emptyDir"] !== undefined || volume["persistentVolumeClaim"] !== undefined || volume["ephemeral"] !== undefined) names.add(name);
  }
  // A StatefulSet's claims are volumes of its pods without appearing in spec.volumes.
  for (const claim of arrayAt(recordAt(template.workload, "spec"), "volumeClaimTemplates")) {
    const name = stringAt(recordAt(claim, "metadata"), "name");
    if (name !== undefined) names.add(name);
  }
  return names;
}

/** The value of `--flag=value` or `--flag value` in command and args, resolved against the image's WORKDIR. */
function flagPath(container: JsonRecord, flag: string, workdir: string): string {
  const argv = [...arrayAt(container, "command"), ...arrayAt(container, "args")].map(String);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    let value: string | undefined;
    if (arg.startsWith(`${flag}=`)) value = arg.slice(flag.length + 1);
    else if (arg === flag) value = argv[i + 1];
    if (value !== undefined) return posix.resolve(workdir, value);
  }
  // Without args the image's CMD applies, which points the flag at the WORKDIR itself.
  return arrayAt(container, "args").length === 0 && arrayAt(container, "command").length === 0 ? workdir : posix.join(workdir, "data");
}

function envValue(container: JsonRecord, name: string): string | undefined {
  for (const env of arrayAt(container, "env")) if (stringAt(env, "name") === name) return stringAt(env, "value");
  return undefined;
}
