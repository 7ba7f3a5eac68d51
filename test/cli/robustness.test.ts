import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { obstack } from './run-captured.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'obstack.js');
const DEV = join(ROOT, 'examples', 'environments', 'dev.yaml');
const STACK_TRACE = /\n\s+at .+[(:]\d+/;

/** The command as a user runs it, in a child process with a time limit. */
function child(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env });
}

describe('--help, --version and the exit codes', () => {
  it('--version prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await obstack(['--version']);
    expect(r).toEqual({ code: 0, stdout: `obstack ${version}\n`, stderr: '' });
  });

  const COMMANDS = [['synth'], ['check'], ['test'], ['init'], ['schema'], ['secrets'], ['diff'], ['check', 'rules'], ['check', 'dashboards'], ['import-rules']];
  for (const command of COMMANDS) {
    it(`obstack ${command.join(' ')} --help and -h: its usage on stdout, exit 0`, async () => {
      for (const flag of ['--help', '-h']) {
        const r = await obstack([...command, flag]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^usage: obstack ${command.join(' ')}`));
        expect(r.stderr).toBe('');
      }
    });
  }

  it('obstack --help documents every command and the exit codes', async () => {
    const r = await obstack(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['synth', 'check', 'test', 'init', 'schema', 'secrets', 'diff', 'check rules', 'check dashboards', 'import-rules']) expect(r.stdout).toContain(`  ${c} `);
    expect(r.stdout).toMatch(/exit codes:\n\s+0 .+\n\s+1 .+[\s\S]*\n\s+2 /);
  });

  it('an unknown option or command: the message and the usage, exit 1, no stack trace', async () => {
    const opt = await obstack(['synth', '--nope']);
    expect(opt.code).toBe(1);
    expect(opt.stderr).toContain("Unknown option '--nope'");
    expect(opt.stderr).toContain('usage: obstack synth');
    const cmd = await obstack(['frobnicate']);
    expect(cmd.code).toBe(1);
    expect(cmd.stderr).toContain('unknown command "frobnicate"');
  });
});

describe('--out that cannot be used is refused before synthesizing', () => {
  it('a file: refused with the path and the reason, the file untouched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'obstack-out-'));
    const file = join(dir, 'dist');
    writeFileSync(file, 'mine');
    const r = await obstack(['synth', '--file', DEV, '--project', ROOT, '--out', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`--out ${file}: is a file, not a folder`);
    expect(r.stderr).not.toContain('synthesizing');
    expect(readFileSync(file, 'utf8')).toBe('mine');
    expect(readdirSync(dir)).toEqual(['dist']);
  });

  it('below a file: refused, nothing created', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'obstack-out-'));
    writeFileSync(join(dir, 'f'), 'x');
    const r = await obstack(['synth', '--file', DEV, '--project', ROOT, '--out', join(dir, 'f', 'dist')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(dir, 'f')} is a file, not a folder`);
    expect(readdirSync(dir)).toEqual(['f']);
  });

  it('/proc/nope: refused at once (the staging folder next to it used to make mkdir loop), in a child process', () => {
    const started = Date.now();
    const r = child(['synth', '--env', 'dev', '--out', '/proc/nope']);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--out /proc/nope: nothing can be written in /proc');
    expect(r.stderr).not.toMatch(STACK_TRACE);
    expect(Date.now() - started).toBeLessThan(30_000);
    const s = child(['schema', '--out', '/proc/nope/schema.json']);
    expect(s.status).toBe(1);
    expect(s.stderr).toContain('nothing can be written in /proc');
    const i = child(['init', '/proc/nope']);
    expect(i.status).toBe(1);
    expect(i.stderr).toContain('obstack init /proc/nope: nothing can be written in /proc');
  });

  it('schema --out a folder: refused with the path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'obstack-out-'));
    const r = await obstack(['schema', '--out', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`--out ${dir}: is a folder, not a file`);
  });
});

describe('what a user can cause never prints a stack trace', () => {
  it('a closed pipe: `obstack schema | head -1` exits quietly', () => {
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${BIN}" schema | head -1`], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout).toBe('{\n');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('promtool missing from PATH: check names the tool and its package, exit 1; check rules warns and runs the rest', () => {
    const noTools = { ...process.env, PATH: '/nonexistent' };
    const r = child(['check', '--env', 'dev'], noTools);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('promtool was not found on PATH (/nonexistent); install Debian\'s package: apt-get install prometheus');
    expect(r.stderr).not.toMatch(STACK_TRACE);
    const rules = join(mkdtempSync(join(tmpdir(), 'obstack-rules-')), 'r.yaml');
    writeFileSync(rules, 'groups:\n  - name: g\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n');
    const c = child(['check', 'rules', '--no-catalog', rules], noTools);
    expect(c.status).toBe(0);
    expect(c.stderr).toContain('warning: promtool was not found on PATH');
    expect(c.stderr).not.toMatch(STACK_TRACE);
  });

  it('a missing environment file and an unreadable project: a message, exit 1', async () => {
    const r = await obstack(['synth', '--file', '/nonexistent/env.yaml', '--project', ROOT, '--out', join(mkdtempSync(join(tmpdir(), 'obstack-')), 'dist')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/nonexistent/env.yaml');
    expect(r.stderr).not.toMatch(STACK_TRACE);
  });

  it('progress goes to stderr when it is a terminal, the result alone to stdout; captured stderr holds no progress', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'obstack-')), 'dist');
    const r = await obstack(['synth', '--file', DEV, '--project', ROOT, '--out', out], { terminal: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('synthesizing dev…\n');
    expect(r.stdout.split('\n').filter(Boolean).every((l) => l.startsWith('wrote '))).toBe(true);
    expect(existsSync(join(out, 'dev'))).toBe(true);
    const check = await obstack(['check', '--file', DEV, '--project', ROOT], { terminal: true });
    expect(check.stderr).toBe('synthesizing and checking dev (promtool, amtool, Prometheus, Alertmanager)…\n');
    expect(check.stdout).toBe('dev: ok\n');
    const quiet = await obstack(['synth', '--file', DEV, '--project', ROOT, '--out', out]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
  });
});
