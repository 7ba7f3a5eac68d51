import { k8s } from 'cdk8s-plus-27';
import type { Resources } from '../../config/index.js';

/** Annotation prefix under which a pod template records why it is exempt from one policy rule. */
export const EXEMPTION_PREFIX = 'exemptions.obstack.io/';

/** Policy rules a component may be exempted from, with the reason written next to the code that needs it. */
export type PolicyRule = 'host-namespaces' | 'host-path' | 'run-as-non-root' | 'read-only-root-filesystem';

export function exemptionAnnotations(exemptions: Partial<Record<PolicyRule, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rule, reason] of Object.entries(exemptions)) {
    if (!reason) throw new Error(`exemption from ${rule} needs a reason`);
    out[`${EXEMPTION_PREFIX}${rule}`] = reason;
  }
  return out;
}

/** Pod-level security context: a numeric non-root user (images name theirs, which runAsNonRoot cannot verify) and RuntimeDefault seccomp. */
export function podSecurityContext(uid: number, fsGroup: number = uid): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container-level security context: read-only root, no privilege escalation, every capability dropped. */
export function containerSecurityContext(uid: number): k8s.SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Bytes of a Kubernetes memory quantity (`1Gi`, `1536Mi`, `2G`). */
export function memoryBytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (!m) throw new Error(`unreadable memory quantity "${q}"`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

export function resourceRequirements(r: Resources): k8s.ResourceRequirements {
  return {
    requests: { cpu: k8s.Quantity.fromString(r.requests.cpu), memory: k8s.Quantity.fromString(r.requests.memory) },
    limits: { cpu: k8s.Quantity.fromString(r.limits.cpu), memory: k8s.Quantity.fromString(r.limits.memory) },
  };
}

/** An HTTP GET probe on a named container port. */
export function httpProbe(path: string, port: string, opts: { initialDelaySeconds?: number; periodSeconds?: number; failureThreshold?: number } = {}): k8s.Probe {
  return {
    httpGet: { path, port: k8s.IntOrString.fromString(port), scheme: 'HTTP' },
    initialDelaySeconds: opts.initialDelaySeconds ?? 10,
    periodSeconds: opts.periodSeconds ?? 15,
    timeoutSeconds: 5,
    failureThreshold: opts.failureThreshold ?? 4,
  };
}
