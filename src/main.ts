/**
 * The cdk8s app entry (`cdk8s synth` runs it, see cdk8s.yaml): synthesizes
 * every environment of examples/environments into the cdk8s output folder.
 */
import { run } from './cli/main.js';

process.exitCode = await run(['synth', '--all', '--out', process.env.CDK8S_OUTDIR ?? 'dist']);
