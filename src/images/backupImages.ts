// `backup --images`: every image a container on the node uses is exported from the node's
// containers-storage into an OCI layout, images/<id>/, with skopeo (the node's own tool; RHCOS
// ships it). images/images.json lists them with their names and digests; backup.json lists and
// hashes that index, so `verify` can follow the chain index -> manifest -> blobs.
import path from 'node:path';
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError } from '../core/errors.js';
import { exists, writeFileDurably } from '../host/durable.js';
import { checkOciLayout } from './ociLayout.js';
import { displayName, filterImages, imagesInUse, type NodeImage } from './select.js';
import { readStorageConfig, skopeoFailure, storageReference } from './storage.js';
import {
  crictlContainersSchema,
  crictlImagesSchema,
  IMAGES_DIR,
  IMAGES_FORMAT,
  IMAGES_INDEX,
  type ImagesIndex,
  type ImagesRecord,
  type SavedImage,
} from './schema.js';

export interface ImageSelection {
  include: string[];
  exclude: string[];
}

async function crictlJson<T>(host: Host, args: string[], schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }): Promise<T> {
  const result = await host.runner.run('crictl', args);
  const line = `crictl ${args.join(' ')}`;
  if (result.exitCode !== 0) {
    const words = (result.stderr || result.stdout).trim().split('\n').slice(-1)[0] ?? '';
    throw new RecoveryError('failure', `${line} failed (CRI-O must be running to list the images in use): ${words}`, 'systemctl start crio, or back up without --images');
  }
  let json: unknown;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    json = undefined;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new RecoveryError('failure', `${line} gave output we cannot read: ${result.stdout.slice(0, 120)}`);
  return parsed.data;
}

/** The images to save, those the patterns leave out, and references no listed image matches. */
export async function selectImages(host: Host, selection: ImageSelection): Promise<{ kept: NodeImage[]; leftOut: NodeImage[]; unknown: string[] }> {
  const containers = await crictlJson(host, ['ps', '-a', '-o', 'json'], crictlContainersSchema);
  const images = await crictlJson(host, ['images', '-o', 'json'], crictlImagesSchema);
  const { used, unknown } = imagesInUse(containers, images);
  return { ...filterImages(used, selection.include, selection.exclude), unknown };
}

/** For the space check: the size crictl reports for each image to save (the images step warns). */
export async function estimateImagesBytes(host: Host, selection: ImageSelection): Promise<number> {
  const { kept } = await selectImages(host, selection);
  return kept.reduce((sum, image) => sum + image.size, 0);
}

/**
 * Saves the images into `<generation>/images`. Each goes to `<id>.partial` and is renamed once
 * skopeo is done and the layout checks out, so a resumed backup keeps the images already saved.
 */
export async function saveImages(host: Host, reporter: Reporter, generationDir: string, selection: ImageSelection): Promise<{ record: ImagesRecord; leftOut: number }> {
  const storage = await readStorageConfig(host);
  // Selected again: a resumed backup's node may have changed since its space check.
  const { kept, leftOut, unknown } = await selectImages(host, selection);
  for (const reference of unknown) reporter.warn(`a container uses ${reference}, which crictl images does not list: it is not saved`);
  const imagesDir = path.join(generationDir, IMAGES_DIR);
  await host.fs.mkdir(imagesDir, { recursive: true, mode: 0o700 });
  const saved: SavedImage[] = [];
  const totalBytes = kept.reduce((sum, image) => sum + image.size, 0);
  let bytes = 0;
  for (const image of kept) {
    reporter.progress({ component: 'images', activity: 'copy', files: saved.length, bytes, totalFiles: kept.length, totalBytes });
    saved.push(await saveOne(host, storage, imagesDir, image));
    bytes += image.size;
  }
  reporter.progress({ component: 'images', activity: 'copy', files: saved.length, bytes, totalFiles: kept.length, totalBytes });
  // containers-storage keeps layers uncompressed: a pulled image (compressed layers) comes out with
  // other layer digests, so its manifest digest changes (its ID, the config digest, does not).
  const renamed = saved.filter((i) => i.repoDigests.length && !i.repoDigests.some((d) => d.endsWith(`@${i.manifestDigest}`)));
  if (renamed.length) {
    reporter.warn(
      `${renamed.length} saved image(s) get a new manifest digest (e.g. ${displayName(renamed[0]!)}): a restore brings them back under their IDs and tags, but a pod that names one by its old digest needs a registry or mirror for it`,
    );
  }
  // Layouts of images no longer in use (a resumed backup whose node changed) do not belong here.
  const wanted = new Set(kept.map((i) => i.id));
  for (const name of await host.fs.readdir(imagesDir)) {
    if (name !== path.basename(IMAGES_INDEX) && !wanted.has(name)) await host.fs.rm(path.join(imagesDir, name), { recursive: true, force: true });
  }
  const index: ImagesIndex = {
    format: IMAGES_FORMAT,
    version: 1,
    storage,
    include: selection.include,
    exclude: selection.exclude,
    images: saved,
    leftOut: leftOut.map((i) => ({ id: i.id, names: [...i.repoTags, ...i.repoDigests] })),
  };
  const indexFile = path.join(generationDir, IMAGES_INDEX);
  await writeFileDurably(host.fs, indexFile, `${JSON.stringify(index, null, 2)}\n`, 0o600);
  return { record: { index: IMAGES_INDEX, count: saved.length, bytes: saved.reduce((n, i) => n + i.bytes, 0) }, leftOut: leftOut.length };
}

async function saveOne(host: Host, storage: ImagesIndex['storage'], imagesDir: string, image: NodeImage): Promise<SavedImage> {
  const final = path.join(imagesDir, image.id);
  const record = (check: Awaited<ReturnType<typeof checkOciLayout>>): SavedImage => ({
    id: image.id,
    names: image.repoTags,
    repoDigests: image.repoDigests,
    manifestDigest: check.manifestDigest!,
    configDigest: check.configDigest!,
    dir: `${IMAGES_DIR}/${image.id}`,
    bytes: check.bytes,
    blobs: check.blobs,
  });
  if (await exists(host.fs, final)) {
    const check = await checkOciLayout(host, final, false);
    if (check.problems.length === 0 && check.configDigest === `sha256:${image.id}`) return record(check);
    await host.fs.rm(final, { recursive: true, force: true });
  }
  const partial = `${final}.partial`;
  await host.fs.rm(partial, { recursive: true, force: true });
  // Layers stay as storage keeps them (uncompressed): no gzip on the node's two cores, the size is
  // what the space check counted, and an image whose layers were never compressed keeps its digest.
  const result = await host.runner.run('skopeo', ['copy', '--quiet', '--dest-oci-accept-uncompressed-layers', storageReference(host, storage, `@${image.id}`), `oci:${partial}`]);
  if (result.exitCode !== 0) throw new RecoveryError('failure', skopeoFailure(`saving the image ${displayName(image)}`, result));
  const check = await checkOciLayout(host, partial, false);
  if (check.problems.length) throw new RecoveryError('failure', `the saved image ${displayName(image)} is not a whole OCI layout: ${check.problems[0]}`);
  // The config is copied byte for byte: its digest is the image ID, here and after a restore.
  if (check.configDigest !== `sha256:${image.id}`) {
    throw new RecoveryError('failure', `the saved image ${displayName(image)} has the config ${check.configDigest}, not its ID`);
  }
  await host.fs.rename(partial, final);
  return record(check);
}
