/** One problem found in synthesized output, addressed precisely enough to fix without searching. */
export interface Finding {
  /** The check or policy rule id that produced it, e.g. `unknown-field` or `run-as-non-root`. */
  check: string;
  /** `Kind/namespace/name`, or `Kind/name` when the object has no namespace. */
  object: string;
  /** JSON path into the object, e.g. `spec.template.spec.containers[0].image`. */
  path?: string;
  message: string;
}

/** Renders findings grouped by object, in the order they were found, for the CLI. */
export function formatFindings(findings: readonly Finding[]): string {
  if (findings.length === 0) return "no findings";
  const byObject = new Map<string, Finding[]>();
  for (const finding of findings) {
    const group = byObject.get(finding.object);
    if (group) group.push(finding);
    else byObject.set(finding.object, [finding]);
  }
  const blocks: string[] = [];
  for (const [object, group] of byObject) {
    const lines = [object];
    for (const finding of group) {
      lines.push(`  [${finding.check}]${finding.path === undefined ? "" : ` ${finding.path}`}`);
      lines.push(`    ${finding.message}`);
    }
    blocks.push(lines.join("\n"));
  }
  const count = `${findings.length} finding${findings.length === 1 ? "" : "s"}`;
  const objects = `${byObject.size} object${byObject.size === 1 ? "" : "s"}`;
  return `${blocks.join("\n\n")}\n\n${count} in ${objects}`;
}
