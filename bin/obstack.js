#!/usr/bin/env node
// The obstack command. Runs a bundle of the TypeScript sources with a V8 code
// cache, rebuilt whenever a source is newer than it, so a checkout needs no
// separate build step and a run does not pay for TypeScript loading.
import { existsSync, readFileSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import Module from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, '.build', 'obstack.cjs');
const cacheFile = `${bundle}.v8cache`;
const SOURCES = ['src', 'rules', 'dashboards', 'templates', 'package-lock.json'];

function newestSource(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestSource(join(path, entry)));
  return newest;
}

async function ensureBundle() {
  const built = existsSync(bundle) ? statSync(bundle).mtimeMs : 0;
  const newest = Math.max(...SOURCES.map((s) => newestSource(join(root, s))));
  if (built > newest) return;
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(root, 'src', 'cli', 'main.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: bundle,
    logLevel: 'error',
    // The ingest service and its database drivers are not part of the command.
    external: ['pg', 'pg-native', '@electric-sql/pglite', 'fastify', 'pino'],
  });
  try {
    unlinkSync(cacheFile);
  } catch {
    // no cache yet
  }
}

await ensureBundle();
const code = readFileSync(bundle, 'utf8');
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const script = new vm.Script(Module.wrap(code), { filename: bundle, cachedData });
const mod = { exports: {} };
script.runInThisContext()(mod.exports, createRequire(bundle), mod, bundle, dirname(bundle));
if (cachedData === undefined || script.cachedDataRejected) {
  process.once('exit', () => {
    try {
      writeFileSync(cacheFile, script.createCachedData());
    } catch {
      // a read-only install runs without the cache
    }
  });
}
process.exitCode = mod.exports.run(process.argv.slice(2));
