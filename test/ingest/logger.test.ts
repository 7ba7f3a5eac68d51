import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, logDestination } from '../../src/ingest/telemetry/logger.js';

const dir = mkdtempSync(join(tmpdir(), 'obstack-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const opts = { level: 'info', serviceName: 'obstack-ingest', serviceVersion: 'test' };

describe('the service logger', () => {
  it('writes buffered lines at the latest after its flush interval', async () => {
    const file = join(dir, 'interval.log');
    const log = createLogger(opts, logDestination(file, 100));
    log.info({ 'event.action': 'one' }, 'first');
    expect(readFileSync(file, 'utf8')).toBe('');
    await new Promise((r) => setTimeout(r, 300));
    expect(lines(file)).toMatchObject([{ message: 'first', 'event.action': 'one', 'log.level': 'info', 'service.name': 'obstack-ingest', 'ecs.version': '8.11.0' }]);
  });

  it('writes what is buffered when the process exits, however it exits', () => {
    for (const how of ['process.exit(0)', 'process.exitCode = 3', "throw new Error('boom')"]) {
      const file = join(dir, `exit-${how.length}.log`);
      const script = [
        `import { createLogger, logDestination } from ${JSON.stringify(join(process.cwd(), 'src/ingest/telemetry/logger.ts'))};`,
        `const log = createLogger({ level: 'info', serviceName: 's', serviceVersion: '1' }, logDestination(${JSON.stringify(file)}, 60_000));`,
        "for (let i = 0; i < 3; i++) log.info({ i }, 'line');",
        how,
      ].join('\n');
      try {
        execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'pipe' });
      } catch {
        // the exit code is not what is tested
      }
      expect(lines(file).map((l) => l['i']), how).toEqual([0, 1, 2]);
    }
  });

  it('redacts credentials wherever a caller logs request headers', async () => {
    const file = join(dir, 'redact.log');
    const log = createLogger(opts, logDestination(file, 50));
    const headers = { 'x-api-key': 'k1-secret', authorization: 'Bearer k2-secret', 'x-sentry-auth': 'Sentry sentry_key=k3-secret', cookie: 'sid=k4-secret', 'user-agent': 'curl' };
    log.info({ headers }, 'a');
    log.info({ req: { headers } }, 'b');
    log.info({ request: { headers } }, 'c');
    await new Promise((r) => setTimeout(r, 200));
    const text = readFileSync(file, 'utf8');
    expect(text).not.toMatch(/k\d-secret/);
    expect(text.match(/\[redacted\]/g)).toHaveLength(12);
    expect(text).toContain('curl');
  });
});
