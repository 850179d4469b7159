// Checks an OCI image layout dir (what `skopeo copy ... oci:<dir>` writes): index.json names one
// manifest, the manifest names a config and layers, each a blob under blobs/sha256/<hex> of the
// stated size; blobs are content-addressed, so with `data` each is hashed against its own name.
import path from 'node:path';
import type { Host } from '../host/ports.js';
import { hashFile } from '../tree/hashFile.js';
import { ociIndexSchema, ociManifestSchema } from './schema.js';

export interface LayoutCheck {
  problems: string[];
  manifestDigest?: string;
  configDigest?: string;
  bytes: number;
  blobs: number;
}

const blobPath = (dir: string, digest: string) => path.join(dir, 'blobs', ...digest.split(':'));

export async function checkOciLayout(host: Host, dir: string, data: boolean): Promise<LayoutCheck> {
  const check: LayoutCheck = { problems: [], bytes: 0, blobs: 0 };
  const index = await readJson(host, path.join(dir, 'index.json'));
  const parsedIndex = ociIndexSchema.safeParse(index);
  if (!parsedIndex.success) {
    check.problems.push(index === undefined ? 'index.json missing or not JSON' : `index.json is not an OCI index: ${parsedIndex.error.issues[0]?.message}`);
    return check;
  }
  const manifestRef = parsedIndex.data.manifests[0]!;
  check.manifestDigest = manifestRef.digest;
  // The manifest is small and is what names every other blob: always hashed.
  const manifestFile = blobPath(dir, manifestRef.digest);
  if (!(await blobOk(host, manifestFile, manifestRef.digest, manifestRef.size, true, check))) return check;
  const manifest = ociManifestSchema.safeParse(await readJson(host, manifestFile));
  if (!manifest.success) {
    check.problems.push(`manifest ${manifestRef.digest} is not an OCI image manifest`);
    return check;
  }
  check.configDigest = manifest.data.config.digest;
  await blobOk(host, blobPath(dir, manifest.data.config.digest), manifest.data.config.digest, manifest.data.config.size, true, check);
  for (const layer of manifest.data.layers) await blobOk(host, blobPath(dir, layer.digest), layer.digest, layer.size, data, check);
  return check;
}

async function blobOk(host: Host, file: string, digest: string, size: number, hash: boolean, check: LayoutCheck): Promise<boolean> {
  const stat = await host.fs.stat(file).catch(() => undefined);
  if (!stat) {
    check.problems.push(`blob ${digest} missing`);
    return false;
  }
  if (stat.size !== size) {
    check.problems.push(`blob ${digest}: size ${stat.size}, expected ${size}`);
    return false;
  }
  check.blobs += 1;
  check.bytes += size;
  if (hash && `sha256:${await hashFile(host.fs, file)}` !== digest) {
    check.problems.push(`blob ${digest}: content differs from its digest`);
    return false;
  }
  return true;
}

async function readJson(host: Host, file: string): Promise<unknown> {
  try {
    return JSON.parse(await host.fs.readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
}
