import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  amtoolCheckConfig,
  amtoolRoutesTest,
  promtoolCheckConfig,
  promtoolCheckRules,
  promtoolTestRules,
  resolveTool,
  toOfflineConfig,
  ToolFailedError,
  ToolNotFoundError,
} from "../../src/validate/index.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "tools");
let dir: string;
const at = (name: string): string => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "obstack-tools-test-"));
  cpSync(FIXTURES, dir, { recursive: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("resolveTool", () => {
  it("finds the Debian binaries on PATH", () => {
    expect(resolveTool("promtool")).toMatch(/\/promtool$/);
    expect(resolveTool("amtool")).toMatch(/\/amtool$/);
  });

  it("names the tool, the PATH searched and the package to install when missing", () => {
    const path = process.env["PATH"];
    process.env["PATH"] = "/nonexistent-bin";
    try {
      expect(() => resolveTool("promtool")).toThrow(ToolNotFoundError);
      expect(() => resolveTool("amtool")).toThrow("amtool was not found on PATH (/nonexistent-bin); install Debian's package: apt-get install prometheus-alertmanager");
      expect(() => promtoolCheckConfig(at("prometheus.yml"))).toThrow("promtool was not found on PATH");
    } finally {
      process.env["PATH"] = path;
    }
  });
});

describe("promtool", () => {
  it("check config passes a valid config and checks the rule file it names", () => {
    const result = promtoolCheckConfig(at("prometheus.yml"));
    expect(result.ok).toBe(true);
    expect(result.output).toContain("SUCCESS: 1 rule files found");
    expect(result.output).toContain("SUCCESS: 2 rules found");
  });

  it("check config fails a broken config and says why", () => {
    const result = promtoolCheckConfig(at("prometheus-broken.yml"));
    expect(result.ok).toBe(false);
    expect(result.output).toContain('not a valid duration string: "30"');
  });

  it("check rules passes good rules and reports the PromQL error of broken ones", () => {
    expect(promtoolCheckRules([at("rules/good.yaml")])).toMatchObject({ ok: true });
    const result = promtoolCheckRules([at("rules/good.yaml"), at("rules/broken.yaml")]);
    expect(result.ok).toBe(false);
    expect(result.output).toContain('group "broken", rule 1, "Unclosed": could not parse expression');
    expect(result.output).toContain("unclosed left parenthesis");
  });

  it("test rules passes a matching unit test and fails a wrong expectation", () => {
    expect(promtoolTestRules([at("rules-test.yaml")])).toMatchObject({ ok: true });
    const result = promtoolTestRules([at("rules-test-failing.yaml")]);
    expect(result.ok).toBe(false);
    expect(result.output).toContain('severity="P2"');
  });

  it("refuses an empty file list rather than running promtool on nothing", () => {
    expect(() => promtoolCheckRules([])).toThrow("promtoolCheckRules needs at least one file, got none");
  });

  // The two facts about Debian's promtool 2.42 that shaped toOfflineConfig.
  it("cannot parse kubernetes_sd_configs (Debian builds it without Kubernetes discovery)", () => {
    const result = promtoolCheckConfig(at("prometheus-in-cluster.yml"));
    expect(result.ok).toBe(false);
    expect(result.output).toContain("field kubernetes_sd_configs not found in type config.ScrapeConfig");
  });

  it("requires an authorization credentials_file to exist, but not a ca_file", () => {
    const config = (credentials: string) =>
      `scrape_configs:\n  - job_name: j\n    authorization: { credentials_file: ${credentials} }\n    tls_config: { ca_file: /nonexistent/ca.crt }\n    static_configs: [{ targets: ["a:1"] }]\n`;
    writeFileSync(at("token"), "placeholder\n");
    writeFileSync(at("with-token.yml"), config(at("token")));
    writeFileSync(at("without-token.yml"), config("/nonexistent/token"));
    expect(promtoolCheckConfig(at("with-token.yml")).ok).toBe(true);
    const missing = promtoolCheckConfig(at("without-token.yml"));
    expect(missing.ok).toBe(false);
    expect(missing.output).toContain('error checking authorization credentials or bearer token file "/nonexistent/token"');
    expect(promtoolCheckConfig(at("without-token.yml"), { syntaxOnly: true }).ok).toBe(true);
  });

  it("checks the stack's in-cluster config once made offline", () => {
    const saDir = join(dir, "serviceaccount");
    const rulesDir = join(dir, "mounted-rules");
    mkdirSync(saDir, { recursive: true });
    mkdirSync(rulesDir, { recursive: true });
    cpSync(at("rules/good.yaml"), join(rulesDir, "good.yaml"));
    const offline = toOfflineConfig(readFileSync(at("prometheus-in-cluster.yml"), "utf8"), dir, {
      "/var/run/secrets/kubernetes.io/serviceaccount": saDir,
      "/etc/prometheus/rules": rulesDir,
    });
    expect(offline.findings).toEqual([]);
    expect(offline.placeholderFiles).toEqual([join(saDir, "token")]);
    for (const file of offline.placeholderFiles) writeFileSync(file, "placeholder\n");
    writeFileSync(at("offline.yml"), offline.text);
    const result = promtoolCheckConfig(at("offline.yml"));
    expect(result.output).toContain("SUCCESS: 1 rule files found");
    expect(result.ok).toBe(true);
  });
});

describe("amtool", () => {
  it("check-config passes a valid config without opening its credential files", () => {
    const result = amtoolCheckConfig(at("alertmanager.yml"));
    expect(result.ok).toBe(true);
    expect(result.output).toContain(" - 3 receivers");
  });

  it("check-config fails a route to an undefined receiver", () => {
    const result = amtoolCheckConfig(at("alertmanager-broken.yml"));
    expect(result.ok).toBe(false);
    expect(result.output).toContain('undefined receiver "nobody" used in route');
  });

  it("routes test: a P1 alert pages, and continues to the team", () => {
    expect(amtoolRoutesTest(at("alertmanager.yml"), { alertname: "DemoDown", severity: "P1" })).toEqual(["pagerduty", "team-slack"]);
  });

  it("routes test: other severities reach the team or the default receiver only", () => {
    expect(amtoolRoutesTest(at("alertmanager.yml"), { severity: "P3" })).toEqual(["team-slack"]);
    expect(amtoolRoutesTest(at("alertmanager.yml"), { severity: "P4" })).toEqual(["webhook"]);
    expect(amtoolRoutesTest(at("alertmanager.yml"), {})).toEqual(["webhook"]);
  });

  it("routes test: values with quotes, commas and spaces stay one value", () => {
    expect(amtoolRoutesTest(at("alertmanager.yml"), { summary: 'disk "data", 95% full', severity: "P1" })).toEqual(["pagerduty", "team-slack"]);
  });

  it("routes test: refuses an invalid label name, and throws when amtool refuses the config", () => {
    expect(() => amtoolRoutesTest(at("alertmanager.yml"), { "bad-name": "x" })).toThrow('label name must match ^[a-zA-Z_][a-zA-Z0-9_]*$, got "bad-name"');
    expect(() => amtoolRoutesTest(at("alertmanager-broken.yml"), { severity: "P1" })).toThrow(ToolFailedError);
    expect(() => amtoolRoutesTest(at("missing.yml"), { severity: "P1" })).toThrow("does not exist");
  });
});
