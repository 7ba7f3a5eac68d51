import { parseExemptions } from "./exemptions.js";
import type { Finding } from "./finding.js";
import { formatPath, type PathSegment } from "./json-path.js";
import { parseImageReference } from "./image-reference.js";
import {
  arrayAt,
  formatLabels,
  isRecord,
  kindOf,
  nameOf,
  namespaceOf,
  recordAt,
  stringAt,
  stringMapAt,
  type JsonRecord,
} from "./kubernetes-object.js";
import { selectorMatches } from "./label-selector.js";
import { containersOf, findPodTemplates, type ContainerAt, type PodTemplate } from "./pod-templates.js";
import { EXEMPTION_ANNOTATION_PREFIX, type PolicyRuleId } from "./policy-rules.js";
import { parseQuantity } from "./quantity.js";
import { ServiceAccountBindings } from "./rbac-bindings.js";
import { checkWritablePaths } from "./writable-paths.js";

/** A finding whose check is a policy rule, before exemptions are applied. */
type RuleFinding = Finding & { check: PolicyRuleId };

/** What the cross-object rules need to know about the whole object set. */
interface PolicyContext {
  networkPolicies: JsonRecord[];
  serviceAccounts: JsonRecord[];
  bindings: ServiceAccountBindings;
}

/**
 * Checks every pod template (Deployment, StatefulSet, DaemonSet, ReplicaSet,
 * Job, CronJob, bare Pod) against the rules of POLICY_RULES (policy-rules.ts). A rule written as an
 * exemption on the pod template's annotations yields no finding; an exemption
 * that is malformed, misplaced or no longer needed is a finding itself.
 */
export function checkSecurityPolicy(objects: readonly unknown[]): Finding[] {
  const context: PolicyContext = {
    networkPolicies: objects.filter((o): o is JsonRecord => isRecord(o) && kindOf(o) === "NetworkPolicy"),
    serviceAccounts: objects.filter((o): o is JsonRecord => isRecord(o) && kindOf(o) === "ServiceAccount"),
    bindings: new ServiceAccountBindings(objects),
  };
  const findings: Finding[] = [];
  for (const template of findPodTemplates(objects)) {
    const raw = checkPodTemplate(template, context);
    const exemptions = parseExemptions(template);
    findings.push(...exemptions.findings);
    findings.push(...raw.filter((f) => !exemptions.rules.has(f.check)));
    for (const rule of exemptions.rules.keys()) {
      if (raw.some((f) => f.check === rule)) continue;
      findings.push({
        check: "exemption",
        object: template.object,
        path: formatPath([...template.metadataPath, "annotations", `${EXEMPTION_ANNOTATION_PREFIX}${rule}`]),
        message: `the pod is exempted from "${rule}" but satisfies it; remove the exemption so that a regression shows`,
      });
    }
  }
  return findings;
}

function checkPodTemplate(template: PodTemplate, context: PolicyContext): RuleFinding[] {
  const findings: RuleFinding[] = [];
  const add = (check: PolicyRuleId, path: readonly PathSegment[], message: string): void => {
    findings.push({ check, object: template.object, path: formatPath(path), message });
  };
  const { spec, specPath } = template;

  for (const field of ["hostNetwork", "hostPID", "hostIPC"] as const) {
    if (spec[field] === true) add("host-namespaces", [...specPath, field], `${field} is true: the pod shares the node's ${HOST_NAMESPACES[field]}`);
  }
  arrayAt(spec, "volumes").forEach((volume, index) => {
    const hostPath = recordAt(volume, "hostPath");
    if (!hostPath) return;
    add("host-path", [...specPath, "volumes", index, "hostPath"], `volume "${stringAt(volume, "name") ?? index}" mounts the host path ${JSON.stringify(stringAt(hostPath, "path") ?? "")}`);
  });

  for (const at of containersOf(template)) {
    checkContainerSecurity(template, at, add);
    checkContainerResources(at, add);
    if (template.longRunning && !at.init) {
      for (const probe of ["livenessProbe", "readinessProbe"] as const) {
        if (!isRecord(at.container[probe])) add("probes", [...at.path, probe], `container "${at.name}" has no ${probe}`);
      }
    }
    checkImage(at, add);
    findings.push(...checkWritablePaths(template, at));
  }

  checkNetworkPolicy(template, context, add);
  checkServiceAccountToken(template, context, add);
  return findings;
}

type Add = (check: PolicyRuleId, path: readonly PathSegment[], message: string) => void;

const HOST_NAMESPACES = { hostNetwork: "network namespace", hostPID: "process namespace", hostIPC: "IPC namespace" } as const;

/** The uids of the images the stack runs, for messages (from the images' Dockerfiles). */
const KNOWN_UIDS = "65534 (nobody) for prom/prometheus, prom/alertmanager and node-exporter, 472 for Grafana, 1000 for the Elastic images, 10001 for Jaeger";

function checkContainerSecurity(template: PodTemplate, at: ContainerAt, add: Add): void {
  const podContext = recordAt(template.spec, "securityContext") ?? {};
  const context = recordAt(at.container, "securityContext") ?? {};
  const contextPath = [...at.path, "securityContext"];
  // Container settings override the pod's for the fields both have.
  const effective = (field: string): unknown => (context[field] !== undefined ? context[field] : podContext[field]);
  const who = `container "${at.name}"`;

  const nonRoot = effective("runAsNonRoot");
  if (nonRoot !== true) {
    const overrides = context["runAsNonRoot"] === false && podContext["runAsNonRoot"] === true;
    add(
      "run-as-non-root",
      [...contextPath, "runAsNonRoot"],
      overrides
        ? `${who} sets runAsNonRoot: false, overriding the pod's true`
        : `${who} is not required to run as non-root: runAsNonRoot is ${show(nonRoot)} (set it to true in the pod's or the container's securityContext)`,
    );
  }

  const uid = effective("runAsUser");
  if (uid === 0) {
    add("numeric-user", [...contextPath, "runAsUser"], `${who} runs as uid 0 (root); set runAsUser to the image's non-root uid: ${KNOWN_UIDS}`);
  } else if (typeof uid !== "number" || !Number.isInteger(uid) || uid < 0) {
    add(
      "numeric-user",
      [...contextPath, "runAsUser"],
      `${who} has no numeric runAsUser (got ${show(uid)}): the kubelet can only verify runAsNonRoot against a numeric uid, so an image whose USER is a name (prom/prometheus, prom/alertmanager and node-exporter run as "nobody") fails at start with CreateContainerConfigError; set runAsUser and runAsGroup to the image's uid: ${KNOWN_UIDS}`,
    );
  }

  if (context["readOnlyRootFilesystem"] !== true) {
    add(
      "read-only-root-filesystem",
      [...contextPath, "readOnlyRootFilesystem"],
      `${who} has a writable root filesystem (readOnlyRootFilesystem is ${show(context["readOnlyRootFilesystem"])}); set it to true and mount an emptyDir where the program writes`,
    );
  }
  if (context["allowPrivilegeEscalation"] !== false) {
    add(
      "no-privilege-escalation",
      [...contextPath, "allowPrivilegeEscalation"],
      `${who} may gain privileges (allowPrivilegeEscalation is ${show(context["allowPrivilegeEscalation"])}, and it defaults to true); set it to false`,
    );
  }
  const drop = recordAt(context, "capabilities")?.["drop"];
  if (!Array.isArray(drop) || !drop.includes("ALL")) {
    add("drop-all-capabilities", [...contextPath, "capabilities", "drop"], `${who} keeps the runtime's default capabilities (capabilities.drop is ${show(drop)}); drop "ALL"`);
  }
  const seccomp = stringAt(effective("seccompProfile"), "type");
  if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") {
    add(
      "seccomp-runtime-default",
      [...contextPath, "seccompProfile", "type"],
      `${who} runs ${seccomp === undefined ? "without a seccomp profile" : `with seccomp profile ${JSON.stringify(seccomp)}`}; set seccompProfile.type to RuntimeDefault in the pod's or the container's securityContext`,
    );
  }
  if (context["privileged"] === true) {
    add("not-privileged", [...contextPath, "privileged"], `${who} is privileged: it has every capability and access to the host's devices`);
  }
}

function checkContainerResources(at: ContainerAt, add: Add): void {
  const resources = recordAt(at.container, "resources");
  const requests = recordAt(resources, "requests") ?? {};
  const limits = recordAt(resources, "limits") ?? {};
  const base = [...at.path, "resources"];
  const who = `container "${at.name}"`;
  if (requests["cpu"] === undefined) add("resources", [...base, "requests", "cpu"], `${who} has no cpu request, so the scheduler places it as if it needed none`);
  if (requests["memory"] === undefined) add("resources", [...base, "requests", "memory"], `${who} has no memory request, so the scheduler places it as if it needed none`);
  if (limits["memory"] === undefined) add("resources", [...base, "limits", "memory"], `${who} has no memory limit: one leak can exhaust the node`);
  if (limits["cpu"] === undefined) add("cpu-limit", [...base, "limits", "cpu"], `${who} has no cpu limit`);
  for (const resource of ["cpu", "memory"] as const) {
    const request = parseQuantity(requests[resource]);
    const limit = parseQuantity(limits[resource]);
    if (request !== undefined && limit !== undefined && request > limit) {
      add(
        "resources",
        [...base, "requests", resource],
        `${who} requests ${resource} ${show(requests[resource])}, more than its limit ${show(limits[resource])}; the API server refuses this`,
      );
    }
  }
}

function checkImage(at: ContainerAt, add: Add): void {
  const image = stringAt(at.container, "image");
  const path = [...at.path, "image"];
  if (image === undefined || image === "") {
    add("image-pinned", path, `container "${at.name}" has no image`);
    return;
  }
  const reference = parseImageReference(image);
  if (reference.digest !== undefined) return;
  if (reference.tag === undefined) {
    add("image-pinned", path, `image "${image}" of container "${at.name}" has no tag, so it means :latest and changes under the stack; pin a version from src/config/versions.ts`);
  } else if (reference.tag === "latest") {
    add("image-pinned", path, `image "${image}" of container "${at.name}" is tagged :latest, which changes under the stack; pin a version from src/config/versions.ts`);
  }
}

function checkNetworkPolicy(template: PodTemplate, context: PolicyContext, add: Add): void {
  const labels = stringMapAt(template.metadata, "labels");
  const selected = context.networkPolicies.some((policy) => {
    if (namespaceOf(policy) !== template.namespace) return false;
    // podSelector is required; a missing one is the schema check's finding, read here as the empty selector.
    return selectorMatches(recordAt(policy, "spec")?.["podSelector"] ?? {}, labels);
  });
  if (selected) return;
  add(
    "network-policy",
    [...template.metadataPath, "labels"],
    `no NetworkPolicy in namespace ${JSON.stringify(template.namespace ?? "")} selects the pod's labels ${formatLabels(labels)}, so it accepts traffic from anywhere`,
  );
}

function checkServiceAccountToken(template: PodTemplate, context: PolicyContext, add: Add): void {
  const { spec, specPath } = template;
  const accountName = stringAt(spec, "serviceAccountName") ?? stringAt(spec, "serviceAccount") ?? "default";
  const account = context.serviceAccounts.find((sa) => nameOf(sa) === accountName && namespaceOf(sa) === template.namespace);
  const podSetting = spec["automountServiceAccountToken"];
  const accountSetting = account?.["automountServiceAccountToken"];
  // The pod's setting wins over its ServiceAccount's, and the token is mounted unless one of them says false.
  const mounted = typeof podSetting === "boolean" ? podSetting : accountSetting !== false;
  const bindings = context.bindings.bindingsOf(template.namespace, accountName);
  const path = [...specPath, "automountServiceAccountToken"];
  if (mounted && bindings.length === 0) {
    add(
      "service-account-token",
      path,
      `the pod gets a token of ServiceAccount "${accountName}" (automountServiceAccountToken is ${show(podSetting)}${account ? `, the ServiceAccount's is ${show(accountSetting)}` : ""}) but no RoleBinding or ClusterRoleBinding in the stack grants that account a role; set automountServiceAccountToken: false, since only components that call the API need a token`,
    );
  }
  if (!mounted && bindings.length > 0 && !hasProjectedToken(spec)) {
    add(
      "service-account-token",
      path,
      `ServiceAccount "${accountName}" is granted a role by ${bindings.join(", ")} but the pod mounts no token (automountServiceAccountToken is false), so the component cannot use the API it was given`,
    );
  }
}

function hasProjectedToken(spec: JsonRecord): boolean {
  return arrayAt(spec, "volumes").some((volume) => arrayAt(recordAt(volume, "projected"), "sources").some((source) => isRecord(recordAt(source, "serviceAccountToken"))));
}

function show(value: unknown): string {
  return value === undefined ? "not set" : JSON.stringify(value);
}
