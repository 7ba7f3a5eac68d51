#!/usr/bin/env node
// The obstack command. From an installed package it runs the compiled modules
// in lib/. In a source checkout it runs a bundle of the TypeScript sources with
// a V8 code cache, rebuilt whenever a source is newer than it, so a checkout
// needs no separate build step and a run does not pay for TypeScript loading.
import { existsSync, readFileSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { isAscii } from 'node:buffer';
import Module from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'src', 'cli', 'main.ts');

if (!existsSync(entry)) {
  const { run } = await import(pathToFileURL(join(root, 'lib', 'src', 'cli', 'main.js')).href);
  process.exitCode = await run(process.argv.slice(2));
} else {
  const bundle = join(root, '.build', 'obstack.cjs');
  const cacheFile = `${bundle}.v8cache`;
  const SOURCES = ['src', 'rules', 'dashboards', 'templates', 'scaffold', 'package.json', 'package-lock.json'];

  const newestSource = (path) => {
    let st;
    try {
      st = statSync(path);
    } catch {
      return 0;
    }
    if (!st.isDirectory()) return st.mtimeMs;
    let newest = st.mtimeMs;
    for (const name of readdirSync(path)) newest = Math.max(newest, newestSource(join(path, name)));
    return newest;
  };

  const built = existsSync(bundle) ? statSync(bundle).mtimeMs : 0;
  if (built <= Math.max(...SOURCES.map((s) => newestSource(join(root, s))))) {
    const { build } = await import('esbuild');
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      outfile: bundle,
      logLevel: 'error',
      charset: 'ascii',
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: 'none',
      // The ingest service and its database drivers are not part of the command; esbuild loads a project's content.
      external: ['pg', 'pg-native', '@electric-sql/pglite', 'fastify', 'pino', 'esbuild'],
    });
    try {
      unlinkSync(cacheFile);
    } catch {
      // no cache yet
    }
  }
  const bytes = readFileSync(bundle);
  // An ASCII bundle (charset above; a tagged template may still carry a character) is read as a
  // one-byte string without UTF-8 decoding, several times faster for megabytes of source.
  const code = isAscii(bytes) ? bytes.latin1Slice(0, bytes.length) : bytes.toString('utf8');
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(code), { filename: bundle, cachedData, importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, createRequire(bundle), mod, bundle, dirname(bundle));
  if (cachedData === undefined || script.cachedDataRejected) {
    process.once('exit', () => {
      try {
        writeFileSync(cacheFile, script.createCachedData());
      } catch {
        // a read-only checkout runs without the cache
      }
    });
  }
  process.exitCode = await mod.exports.run(process.argv.slice(2));
}
