#!/usr/bin/env node
// Loads the TypeScript sources through tsx's loader in this process, so the
// command works from a checkout without a build step or a second process.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../src/cli/main.ts');
process.exitCode = run(process.argv.slice(2));
