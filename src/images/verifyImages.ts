// `verify` of the saved images: the index (itself hashed in backup.json) is read and validated,
// then each image's OCI layout is checked against the manifest digest the index recorded; with
// `data`, every layer blob is hashed against its digest. Problems name the image.
import path from 'node:path';
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import type { GenerationPaths } from '../backup/layout.js';
import { readListedJson } from '../backup/listedJson.js';
import { checkOciLayout } from './ociLayout.js';
import { displayName } from './select.js';
import { imagesIndexSchema, type ImagesIndex, type ImagesRecord } from './schema.js';

export interface ImagesVerdict {
  name: 'images';
  entries: number;
  problems: Array<{ path: string; problem: string }>;
  moreProblems: number;
}

export async function readImagesIndex(host: Host, paths: GenerationPaths, record: ImagesRecord): Promise<ImagesIndex> {
  return readListedJson(host, path.join(paths.dir, record.index), imagesIndexSchema);
}

export async function verifyImages(host: Host, paths: GenerationPaths, record: ImagesRecord, data: boolean): Promise<ImagesVerdict> {
  const verdict: ImagesVerdict = { name: 'images', entries: 0, problems: [], moreProblems: 0 };
  let index: ImagesIndex;
  try {
    index = await readImagesIndex(host, paths, record);
  } catch (error) {
    verdict.problems.push({ path: record.index, problem: (error as Error).message });
    return verdict;
  }
  if (index.images.length !== record.count) verdict.problems.push({ path: record.index, problem: `lists ${index.images.length} images, backup.json says ${record.count}` });
  for (const image of index.images) {
    verdict.entries += 1;
    const check = await checkOciLayout(host, path.join(paths.dir, image.dir), data);
    const problems = [...check.problems];
    if (check.manifestDigest && check.manifestDigest !== image.manifestDigest) problems.push(`index.json names the manifest ${check.manifestDigest}, the backup recorded ${image.manifestDigest}`);
    if (check.configDigest && check.configDigest !== image.configDigest) problems.push(`config ${check.configDigest}, the backup recorded ${image.configDigest}`);
    for (const problem of problems) verdict.problems.push({ path: image.dir, problem: `image ${displayName(image)}: ${problem}` });
  }
  return verdict;
}

/** `verify`'s step for the images, with its start and end events. */
export async function verifyImagesStep(host: Host, reporter: Reporter, paths: GenerationPaths, record: ImagesRecord, data: boolean): Promise<ImagesVerdict> {
  reporter.stepStart('verify-images', `Check the ${record.count} saved image(s) in images/${data ? ', every blob against its digest' : ''}`);
  const verdict = await verifyImages(host, paths, record, data);
  const bad = verdict.problems.length;
  reporter.stepEnd('verify-images', bad ? 'failed' : 'done', bad ? `${bad} problem(s)` : `${verdict.entries} image(s)`);
  return verdict;
}
