// A tiny OCI image made here with node-tar (a layout with one or two layers, a config, a manifest
// and index.json), and the sandbox node's real containers-storage (vfs driver, under the node root)
// that skopeo loads it into, as CRI-O's storage on a node.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import * as tar from 'tar';

export interface BuiltImage {
  layout: string;
  /** The storage image ID: the config's digest, hex. */
  id: string;
  manifestDigest: string;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Builds an OCI layout in `dir` with one layer per entry of `layers` (file name -> content). */
export async function buildOciImage(dir: string, layers: Array<Record<string, string>>, options: { gzip?: boolean } = {}): Promise<BuiltImage> {
  mkdirSync(path.join(dir, 'blobs/sha256'), { recursive: true });
  const blob = (data: Buffer) => {
    const digest = sha256(data);
    writeFileSync(path.join(dir, 'blobs/sha256', digest), data);
    return { digest: `sha256:${digest}`, size: data.length };
  };
  const diffIds: string[] = [];
  const layerDescriptors = [];
  for (const files of layers) {
    const work = mkdtempSync(path.join(dir, '..', 'layer-'));
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(work, name)), { recursive: true });
      writeFileSync(path.join(work, name), content);
    }
    const tarFile = `${work}.tar`;
    await tar.create({ cwd: work, file: tarFile, portable: true, mtime: new Date(0) }, Object.keys(files));
    const plain = readFileSync(tarFile);
    diffIds.push(`sha256:${sha256(plain)}`);
    const data = options.gzip ? gzipSync(plain) : plain;
    layerDescriptors.push({ mediaType: `application/vnd.oci.image.layer.v1.tar${options.gzip ? '+gzip' : ''}`, ...blob(data) });
  }
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/true'] }, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const configDescriptor = { mediaType: 'application/vnd.oci.image.config.v1+json', ...blob(config) };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDescriptor, layers: layerDescriptors }));
  const manifestDescriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...blob(manifest) };
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [manifestDescriptor] }));
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  return { layout: dir, id: configDescriptor.digest.slice('sha256:'.length), manifestDigest: manifestDescriptor.digest };
}

export const GRAPHROOT = '/var/lib/containers/storage';
export const RUNROOT = '/run/containers/storage';

/** The node's /etc/containers/storage.conf: the vfs driver, which needs no mounts, at the usual paths. */
export function writeStorageConf(root: string): void {
  mkdirSync(path.join(root, 'etc/containers'), { recursive: true });
  writeFileSync(path.join(root, 'etc/containers/storage.conf'), `# sandbox node\n[storage]\ndriver = "vfs"\nrunroot = "${RUNROOT}"\ngraphroot = "${GRAPHROOT}"\n\n[storage.options]\n`);
}

export function storageRef(root: string, name: string): string {
  return `containers-storage:[vfs@${path.join(root, GRAPHROOT)}+${path.join(root, RUNROOT)}]${name}`;
}

export async function loadIntoStorage(root: string, layout: string, name: string): Promise<void> {
  await execa('skopeo', ['copy', '--quiet', `oci:${layout}`, storageRef(root, name)]);
}

/** What skopeo says the storage holds under `name`: manifest digest and config digest; undefined when absent. */
export async function inStorage(root: string, name: string): Promise<{ manifestDigest: string; configDigest: string } | undefined> {
  const run = await execa('skopeo', ['inspect', '--raw', storageRef(root, name)], { reject: false, stripFinalNewline: false });
  if (run.exitCode !== 0) return undefined;
  return { manifestDigest: `sha256:${createHash('sha256').update(run.stdout).digest('hex')}`, configDigest: JSON.parse(run.stdout).config.digest };
}
