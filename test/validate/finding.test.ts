import { describe, expect, it } from "vitest";
import { formatFindings } from "../../src/validate/index.js";

describe("formatFindings", () => {
  it("groups findings by object, with check, path and message", () => {
    const text = formatFindings([
      { check: "probes", object: "Deployment/monitoring/grafana", path: "spec.template.spec.containers[0].livenessProbe", message: 'container "grafana" has no livenessProbe' },
      { check: "unknown-kind", object: "Foo/x", message: "not a kind" },
      { check: "image-pinned", object: "Deployment/monitoring/grafana", path: "spec.template.spec.containers[0].image", message: "tagged :latest" },
    ]);
    expect(text).toBe(
      [
        "Deployment/monitoring/grafana",
        "  [probes] spec.template.spec.containers[0].livenessProbe",
        '    container "grafana" has no livenessProbe',
        "  [image-pinned] spec.template.spec.containers[0].image",
        "    tagged :latest",
        "",
        "Foo/x",
        "  [unknown-kind]",
        "    not a kind",
        "",
        "3 findings in 2 objects",
      ].join("\n"),
    );
  });

  it("says so when there is nothing", () => {
    expect(formatFindings([])).toBe("no findings");
  });
});
