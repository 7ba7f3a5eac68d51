import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { contentReferences, environmentFiles, loadProjectContent, projectLayout, synthEnvironment, withStackContent } from '../project/index.js';
import { renderReport } from '../report/index.js';
import { loadEnvironments } from './load-environments.js';

export const REPORT_USAGE = `  report   one environment as a self-contained HTML page for a reviewer:
           components and flows, sizes, alerts and their receivers, dashboards
           --out FILE.html     where to write it (required)
           --env NAME, -f/--file FILE, --project DIR, --environments DIR
                               as for synth; exactly one environment
`;

/** A mistake in the command line: printed as one line, exit 1, nothing written. */
class ReportUsageError extends Error {}

const OPTIONS = {
  env: { type: 'string', multiple: true },
  file: { type: 'string', short: 'f', multiple: true },
  project: { type: 'string' },
  environments: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Refuses an output the run could not write, before anything is synthesized:
 * a refused run changes nothing on disk. Permission bits say little to root
 * or on a read-only mount, so an existing file is opened for writing without
 * truncating it, and a missing one is probed with a folder made and removed
 * in the nearest folder that exists.
 */
function checkOut(out: string | undefined): string {
  if (out === undefined || out === '') throw new ReportUsageError('report needs --out FILE.html: where to write the report');
  if (extname(out).toLowerCase() !== '.html') throw new ReportUsageError(`--out must name an .html file, got "${out}"`);
  const file = resolve(out);
  const shown = (p: string): string => relative(process.cwd(), p) || p;
  try {
    let dir = dirname(file);
    while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
    if (!statSync(dir).isDirectory()) throw new ReportUsageError(`--out ${out} cannot be written: ${shown(dir)} is a file, not a folder; nothing was written`);
    const st = statSync(file, { throwIfNoEntry: false });
    if (st?.isDirectory()) throw new ReportUsageError(`--out ${out} is a folder, not a file; nothing was written`);
    if (st !== undefined) {
      closeSync(openSync(file, 'r+'));
      return file;
    }
    rmdirSync(mkdtempSync(join(dir, '.obstack-probe-')));
  } catch (e) {
    if (e instanceof ReportUsageError) throw e;
    throw new ReportUsageError(`--out ${out} cannot be written (${(e as NodeJS.ErrnoException).code ?? 'error'}); nothing was written`);
  }
  return file;
}

/** `obstack report`: synthesizes one environment in memory with the project's content and writes its report. */
export async function reportCommand(args: string[]): Promise<number> {
  try {
    const { values } = parseArgs({ args, options: OPTIONS, strict: true });
    if (values.help) {
      process.stdout.write(`usage: obstack report --out FILE.html [options]\n\n${REPORT_USAGE}`);
      return 0;
    }
    const out = checkOut(values.out);
    const layout = projectLayout(values.project ?? '.');
    const withEnvironments = values.environments ? { ...layout, environments: relative(layout.root, resolve(values.environments)) } : layout;
    const explicit = values.file ?? [];
    const files = explicit.length > 0 && !values.env ? explicit : [...explicit, ...environmentFiles(withEnvironments, values.env ?? [])];
    if (files.length !== 1) {
      throw new ReportUsageError(files.length === 0 ? 'report needs one environment: --env NAME or --file FILE' : `report covers one environment, got ${files.length}: name one with --env NAME or --file FILE`);
    }
    const own = await loadProjectContent(layout);
    const content = withStackContent(own);
    const [env] = loadEnvironments(files, (e) => contentReferences(e, content));
    if (!env) throw new ReportUsageError('report needs one environment: --env NAME or --file FILE');
    const { result, findings } = synthEnvironment(env, { content: own });
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, renderReport(result));
    process.stdout.write(`wrote ${relative(process.cwd(), out) || out}\n`);
    if (findings.length > 0) {
      process.stderr.write(`${env.name}: ${findings.length} finding(s) in the synthesized output; \`obstack check\` lists them, and synth refuses until they are fixed\n`);
    }
    return 0;
  } catch (e) {
    if (e instanceof ReportUsageError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
