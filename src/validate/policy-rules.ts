/** The security policy's rules, each with the one line the CLI prints. The ids are stable: exemptions name them. */
export const POLICY_RULES = {
  "run-as-non-root": "every container must run with runAsNonRoot: true (pod or container securityContext)",
  "numeric-user": "every container must run as a numeric, non-zero runAsUser, so that runAsNonRoot can be verified",
  "read-only-root-filesystem": "every container must have readOnlyRootFilesystem: true",
  "no-privilege-escalation": "every container must set allowPrivilegeEscalation: false",
  "drop-all-capabilities": "every container must drop ALL capabilities",
  "seccomp-runtime-default": "every container must run with seccompProfile RuntimeDefault or Localhost",
  "not-privileged": "no container may be privileged",
  resources: "every container must request cpu and memory and limit memory, with requests within limits",
  "cpu-limit": "every container must limit cpu",
  probes: "every long-running container must have a livenessProbe and a readinessProbe",
  "host-namespaces": "no pod may use hostNetwork, hostPID or hostIPC",
  "host-path": "no pod may mount a hostPath volume",
  "image-pinned": "every image must have an explicit tag other than latest, or a digest",
  "writable-paths": "a container with a read-only root must have a writable volume where its program writes",
  "network-policy": "every pod must be selected by a NetworkPolicy in its namespace",
  "service-account-token": "only pods whose ServiceAccount is bound to a role get a service-account token",
} as const satisfies Record<string, string>;

export type PolicyRuleId = keyof typeof POLICY_RULES;

/** Annotation prefix on a pod template's metadata: `exemptions.obstack.io/<rule-id>: <reason>`. */
export const EXEMPTION_ANNOTATION_PREFIX = "exemptions.obstack.io/";

export function isPolicyRuleId(id: string): id is PolicyRuleId {
  return Object.prototype.hasOwnProperty.call(POLICY_RULES, id);
}
