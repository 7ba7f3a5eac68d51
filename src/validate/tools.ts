import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** What a check by a real tool says: whether it passed, and everything it printed (stdout, then stderr). */
export interface ToolResult {
  ok: boolean;
  output: string;
}

/** The tools this module runs, with the Debian package that ships each. */
const PACKAGES = { promtool: "prometheus", amtool: "prometheus-alertmanager" } as const;
export type ToolName = keyof typeof PACKAGES;

/** A tool is not on PATH. */
export class ToolNotFoundError extends Error {
  readonly code = "TOOL_NOT_FOUND";
  constructor(readonly tool: ToolName, searched: string) {
    super(`${tool} was not found on PATH (${searched || "empty"}); install Debian's package: apt-get install ${PACKAGES[tool]}`);
    this.name = "ToolNotFoundError";
  }
}

/** A tool failed in a way that leaves no answer to return (for the runners that return a parsed value). */
export class ToolFailedError extends Error {
  readonly code = "TOOL_FAILED";
  constructor(readonly tool: ToolName, readonly args: readonly string[], readonly output: string) {
    super(`${tool} ${args.join(" ")} failed: ${output.trim()}`);
    this.name = "ToolFailedError";
  }
}

/** The absolute path of a tool found on PATH. */
export function resolveTool(tool: ToolName): string {
  const searched = process.env["PATH"] ?? "";
  for (const dir of searched.split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, tool);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new ToolNotFoundError(tool, searched);
}

// Generous: promtool test rules on a large suite takes seconds; a hang should still end.
const TIMEOUT_MS = 60_000;

function run(tool: ToolName, args: readonly string[]): { status: number | null; output: string } {
  const result = spawnSync(resolveTool(tool), args, { encoding: "utf8", timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
  if (result.error) throw new ToolFailedError(tool, args, result.error.message);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function check(tool: ToolName, args: readonly string[]): ToolResult {
  const { status, output } = run(tool, args);
  return { ok: status === 0, output };
}

/**
 * `promtool check config FILE`. Debian's promtool 2.42 cannot parse
 * kubernetes_sd_configs (and other SDs, see prometheus-offline.ts)
 * and requires some referenced files to exist: give it the output of
 * toOfflineConfig, with placeholders for its placeholderFiles.
 */
export function promtoolCheckConfig(file: string, options: { readonly syntaxOnly?: boolean } = {}): ToolResult {
  return check("promtool", ["check", "config", ...(options.syntaxOnly ? ["--syntax-only"] : []), file]);
}

/** `promtool check rules FILES…`: YAML, PromQL and template syntax of rule files. */
export function promtoolCheckRules(files: readonly string[]): ToolResult {
  if (files.length === 0) throw new Error("promtoolCheckRules needs at least one file, got none");
  return check("promtool", ["check", "rules", ...files]);
}

/** `promtool test rules FILES…`: runs rule unit tests. */
export function promtoolTestRules(files: readonly string[]): ToolResult {
  if (files.length === 0) throw new Error("promtoolTestRules needs at least one file, got none");
  return check("promtool", ["test", "rules", ...files]);
}

/**
 * `amtool check-config FILE`. amtool 0.25 opens no referenced credential or
 * certificate file (credentials_file, *_file, tls files may be absent); it
 * does parse every template matched by `templates` (a glob matching nothing passes).
 */
export function amtoolCheckConfig(file: string): ToolResult {
  return check("amtool", ["check-config", file]);
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * The receivers an alert with these labels reaches, in routing order, from
 * `amtool config routes test` (which prints them comma-separated, e.g.
 * `pagerduty,team-slack` when a route has `continue: true`). Throws
 * ToolFailedError when amtool refuses the config.
 */
export function amtoolRoutesTest(configFile: string, labels: Readonly<Record<string, string>>): string[] {
  const matchers = Object.entries(labels).map(([name, value]) => {
    if (!LABEL_NAME.test(name)) throw new Error(`label name must match ${LABEL_NAME.source}, got ${JSON.stringify(name)}`);
    // Quoted and escaped, so that values with spaces, commas or quotes stay one value.
    return `${name}="${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
  });
  const args = ["config", "routes", "test", `--config.file=${configFile}`, ...matchers];
  const result = spawnSync(resolveTool("amtool"), args, { encoding: "utf8", timeout: TIMEOUT_MS });
  if (result.error) throw new ToolFailedError("amtool", args, result.error.message);
  // amtool always warns on stderr that --config.file overrides --alertmanager.url; only stdout carries the answer.
  if (result.status !== 0) throw new ToolFailedError("amtool", args, `${result.stdout}${result.stderr}`);
  const line = result.stdout.trim();
  return line === "" ? [] : line.split(",");
}
