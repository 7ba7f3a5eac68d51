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
import v8 from 'node:v8';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'src', 'cli', 'main.ts');

const args = process.argv.slice(2);

// check rules, check dashboards and import-rules run without V8's optimizing compiler (src/cli/file-commands.ts
// says why); the flag is set before anything is compiled, so that the bundle's code cache is written and read under it.
if ((args[0] === 'check' && (args[1] === 'rules' || args[1] === 'dashboards')) || args[0] === 'import-rules') v8.setFlagsFromString('--no-opt');

/**
 * `obstack synth` whose output is up to date (see src/cli/up-to-date.ts) says
 * so before the rest of obstack is loaded; true when it did.
 */
function reportUpToDate(check) {
  if (args[0] !== 'synth') return false;
  const folders = check.upToDate(args.slice(1));
  if (folders === undefined) return false;
  for (const f of folders) process.stdout.write(`up to date: ${check.shownFolder(f)}\n`);
  process.stdout.write('(nothing it is made from changed since it was written; --force synthesizes again)\n');
  return true;
}

if (!existsSync(entry)) {
  const lib = join(root, 'lib', 'src', 'cli');
  if (!reportUpToDate(await import(pathToFileURL(join(lib, 'up-to-date.js')).href))) {
    // check rules, check dashboards and import-rules load only what they need.
    const fileCommand = (args[0] === 'check' && (args[1] === 'rules' || args[1] === 'dashboards')) || args[0] === 'import-rules';
    const { run } = await import(pathToFileURL(join(lib, fileCommand ? 'file-commands.js' : 'main.js')).href);
    process.exitCode = await run(args);
  }
} else {
  // The full command line, and a lighter one for the commands that check files a team brings (check rules,
  // check dashboards, import-rules): they need neither the constructs nor the environment schema.
  const fileCommand = (args[0] === 'check' && (args[1] === 'rules' || args[1] === 'dashboards')) || args[0] === 'import-rules';
  const full = join(root, '.build', 'obstack.cjs');
  const files = join(root, '.build', 'file-commands.cjs');
  const check = join(root, '.build', 'up-to-date.cjs');
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

  // The full bundle is written last: its time says when all three were built.
  const built = existsSync(full) ? statSync(full).mtimeMs : 0;
  if (built <= Math.max(...SOURCES.map((s) => newestSource(join(root, s))))) {
    const { build } = await import('esbuild');
    const options = {
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      logLevel: 'error',
      charset: 'ascii',
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: 'none',
      // The ingest service and its database drivers are not part of the command; esbuild loads a project's content.
      external: ['pg', 'pg-native', '@electric-sql/pglite', 'fastify', 'pino', 'esbuild'],
    };
    await build({ ...options, entryPoints: [join(root, 'src', 'cli', 'up-to-date.ts')], outfile: check });
    await build({ ...options, entryPoints: [join(root, 'src', 'cli', 'file-commands.ts')], outfile: files });
    await build({ ...options, entryPoints: [entry], outfile: full });
    for (const cache of [files, full].flatMap((bundle) => [`${bundle}.v8cache`, `${bundle}.synth.v8cache`])) {
      try {
        unlinkSync(cache);
      } catch {
        // no cache yet
      }
    }
  } else if (existsSync(check) && reportUpToDate(createRequire(check)(check))) {
    process.exit();
  }
  const bundle = fileCommand ? files : full;
  // The cache holds the functions the run that wrote it compiled: a synth compiles several times what
  // --version or schema does, so the commands that synthesize keep a cache of their own.
  const synthesizes = !fileCommand && ['synth', 'check', 'diff', 'secrets', 'test', 'report'].includes(args[0] ?? '');
  const cacheFile = `${bundle}${synthesizes ? '.synth' : ''}.v8cache`;
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
  process.exitCode = await mod.exports.run(args);
}
