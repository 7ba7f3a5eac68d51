import { closestName } from "./closest-name.js";
import type { Finding } from "./finding.js";
import { formatPath } from "./json-path.js";
import { isRecord, recordAt } from "./kubernetes-object.js";
import { findPodTemplates, type PodTemplate } from "./pod-templates.js";
import { EXEMPTION_ANNOTATION_PREFIX, isPolicyRuleId, POLICY_RULES, type PolicyRuleId } from "./policy-rules.js";

/** A written exemption: this pod template is not held to this rule, for this reason. */
export interface Exemption {
  object: string;
  rule: PolicyRuleId;
  reason: string;
}

export interface ParsedExemptions {
  /** The valid exemptions, rule → reason. */
  rules: Map<PolicyRuleId, string>;
  /** Malformed or misplaced exemption annotations. */
  findings: Finding[];
}

/** Reads the exemption annotations of one pod template; unknown rules, empty reasons and misplaced annotations are findings. */
export function parseExemptions(template: PodTemplate): ParsedExemptions {
  const rules = new Map<PolicyRuleId, string>();
  const findings: Finding[] = [];
  const annotationsPath = [...template.metadataPath, "annotations"];
  const annotations = recordAt(template.metadata, "annotations") ?? {};
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(EXEMPTION_ANNOTATION_PREFIX)) continue;
    const rule = key.slice(EXEMPTION_ANNOTATION_PREFIX.length);
    const path = formatPath([...annotationsPath, key]);
    if (!isPolicyRuleId(rule)) {
      const suggestion = closestName(rule, Object.keys(POLICY_RULES));
      findings.push({
        check: "exemption",
        object: template.object,
        path,
        message: `exemption names unknown rule "${rule}"${suggestion ? ` (did you mean "${suggestion}"?)` : ""}; rules are ${Object.keys(POLICY_RULES).join(", ")}`,
      });
    } else if (typeof value !== "string" || value.trim() === "") {
      findings.push({
        check: "exemption",
        object: template.object,
        path,
        message: `exemption from "${rule}" has no reason (got ${JSON.stringify(value)}); write why the component needs it`,
      });
    } else {
      rules.set(rule, value.trim());
    }
  }
  // Annotations on the workload itself do not reach the pod and are not read; say so rather than ignore them.
  if (template.metadataPath.length > 1) {
    const own = recordAt(recordAt(template.workload, "metadata"), "annotations");
    for (const key of Object.keys(isRecord(own) ? own : {})) {
      if (!key.startsWith(EXEMPTION_ANNOTATION_PREFIX)) continue;
      findings.push({
        check: "exemption",
        object: template.object,
        path: formatPath(["metadata", "annotations", key]),
        message: `exemptions are read from the pod template's annotations (${formatPath(annotationsPath)}), not from the ${template.kind}'s own metadata; this one has no effect`,
      });
    }
  }
  return { rules, findings };
}

/** Every valid written exemption in the objects, so the CLI can print them next to the findings. */
export function listExemptions(objects: readonly unknown[]): Exemption[] {
  const out: Exemption[] = [];
  for (const template of findPodTemplates(objects)) {
    for (const [rule, reason] of parseExemptions(template).rules) out.push({ object: template.object, rule, reason });
  }
  return out;
}
