import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { RULES_DIR, SERVICE_ACCOUNT_DIR } from '../../src/constructs/index.js';
import { SCRAPE_SECRETS_DIR } from '../../src/constructs/prometheus/declared-jobs.js';
import { type Finding, toOfflineConfig } from '../../src/validate/index.js';

/** A synthesized prometheus.yml laid out in `root` so that Debian's Prometheus runs it. */
export interface OfflinePrometheus {
  readonly configFile: string;
  readonly rulesDir: string;
  /** Where the in-pod SCRAPE_SECRETS_DIR points: `<dir>/<secretName>/<key>`, a placeholder in each file the config reads. */
  readonly scrapeSecretsDir: string;
  /** What the offline rewrite could not carry over (a test expects none). */
  readonly findings: readonly Finding[];
}

/**
 * Writes the offline copy of an environment's prometheus.yml into `root`: its
 * rule files, a placeholder service-account token, and for every job the
 * file-SD targets `targets(job)` (by default none) in the `<job>.json` the
 * offline config reads (characters other than [A-Za-z0-9_.-] replaced), and
 * a placeholder for each mounted Secret key a job reads (write the real
 * value over it).
 */
export function writeOfflinePrometheus(files: ReadonlyMap<string, string>, root: string, targets: (job: string) => readonly unknown[] = () => []): OfflinePrometheus {
  const rulesDir = join(root, 'rules');
  const saDir = join(root, 'sa');
  for (const dir of [rulesDir, saDir, join(root, 'targets')]) mkdirSync(dir, { recursive: true });
  writeFileSync(join(saDir, 'token'), 'x');
  writeFileSync(join(saDir, 'ca.crt'), '');
  for (const [rel, content] of files) if (rel.startsWith('rules/')) writeFileSync(join(root, rel), content);
  const scrapeSecretsDir = join(root, 'scrape-secrets');
  const offline = toOfflineConfig(files.get('prometheus.yml') ?? '', root, { [SERVICE_ACCOUNT_DIR]: saDir, [RULES_DIR]: rulesDir, [SCRAPE_SECRETS_DIR]: scrapeSecretsDir });
  for (const file of offline.placeholderFiles) {
    if (!file.startsWith(`${scrapeSecretsDir}/`) || existsSync(file)) continue;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, 'placeholder');
  }
  for (const j of (parse(offline.text) as { scrape_configs: { job_name: string }[] }).scrape_configs) {
    writeFileSync(join(root, 'targets', `${j.job_name.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`), JSON.stringify(targets(j.job_name)));
  }
  const configFile = join(root, 'prometheus.yml');
  writeFileSync(configFile, offline.text);
  return { configFile, rulesDir, scrapeSecretsDir, findings: offline.findings };
}
