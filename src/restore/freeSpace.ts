// Before the first destructive step: will what the restore writes fit? A tree is restored by
// staging each file that differs inside the tree, then renaming it over the live one, so while a
// tree is restored its filesystem holds both copies of every file being replaced. We count, from
// the manifest, each file the node does not have with the backup's size and mtime (the ones the
// restore will most likely write: a file of the same size and mtime is usually left alone), add a
// margin (10 %, at least 1 MiB, as MicroShift's restore keeps), and compare per filesystem.
import { Buffer } from 'node:buffer';
import path from 'node:path';
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError } from '../core/errors.js';
import { breathe } from '../tree/breathe.js';
import { entryPath, readManifestKeys } from '../manifest/reader.js';
import { joinPath } from '../tree/pathBytes.js';
import { Exclusions } from './treeCompare.js';
import { resolveNodePath } from '../host/resolveNodePath.js';
import { TREE_COMPONENTS } from '../backup/layout.js';
import { formatBytes } from '../backup/diskSpace.js';
import type { RestoreBackup } from './context.js';

const MiB = 1024 * 1024;

export interface SpaceNeed {
  /** The node paths of the trees on this filesystem. */
  trees: string[];
  target: string;
  needed: number;
  margin: number;
  free: number;
}

/** What each filesystem needs, for the trees the restore writes. */
export async function measureRestoreSpace(host: Host, backup: RestoreBackup): Promise<SpaceNeed[]> {
  const byDevice = new Map<number, SpaceNeed>();
  for (const tree of TREE_COMPONENTS) {
    if (!backup.summary.components.some((c) => c.name === tree.name)) continue;
    const target = await resolveNodePath(host, tree.nodePath);
    const stat = await host.fs.stat(target).catch(() => undefined);
    // A missing tree is created where its parent is.
    const onDisk = stat ? target : path.dirname(target);
    const device = Number((await host.fs.stat(onDisk)).dev);
    const excluded = tree.name === 'etc' ? backup.excluded : [];
    const needed = await bytesToWrite(host, backup.paths.manifest(tree.name), target, excluded);
    const need = byDevice.get(device) ?? { trees: [], target: onDisk, needed: 0, margin: 0, free: 0 };
    need.trees.push(tree.nodePath);
    need.needed += needed;
    byDevice.set(device, need);
  }
  for (const need of byDevice.values()) {
    const stats = await host.fs.statfs(need.target);
    need.free = Number(stats.bavail) * Number(stats.bsize);
    need.margin = need.needed === 0 ? 0 : Math.max(Math.ceil(need.needed / 10), MiB);
  }
  return [...byDevice.values()];
}

/** Refuses (or warns with --force) when a filesystem cannot take what the restore writes into it. */
export async function checkRestoreSpace(host: Host, reporter: Reporter, backup: RestoreBackup, force: boolean): Promise<SpaceNeed[]> {
  const needs = await measureRestoreSpace(host, backup);
  const short = needs.filter((n) => n.needed > 0 && n.free < n.needed + n.margin);
  for (const need of needs) {
    if (need.needed > 0) reporter.info(`${need.trees.join(', ')}: about ${formatBytes(need.needed)} to write (+ ${formatBytes(need.margin)} margin), ${formatBytes(need.free)} free`);
  }
  if (short.length === 0) return needs;
  const message = short
    .map((n) => `${n.trees.join(' and ')} need${n.trees.length === 1 ? 's' : ''} about ${formatBytes(n.needed + n.margin)} (${formatBytes(n.needed)} + ${formatBytes(n.margin)} margin) but only ${formatBytes(n.free)} is free on ${n.target}`)
    .join('; ');
  if (force) {
    reporter.warn(`not enough free space for the restore: ${message}; going on because of --force`);
    return needs;
  }
  throw new RecoveryError('precondition', `not enough free space for the restore, nothing was touched: ${message}`, 'free space on that filesystem (journalctl --vacuum-size, crictl rmi --prune, old files), then run the restore again');
}

async function bytesToWrite(host: Host, manifest: string, target: string, excluded: string[]): Promise<number> {
  let bytes = 0;
  const lstat = host.fs.sync.lstatSync;
  const exclusions = new Exclusions(excluded);
  const targetBytes = Buffer.from(target);
  await readManifestKeys(host.fs, manifest, (entry) => {
    if (entry.type !== 'file' || entry.size === 0) return;
    const rel = entryPath(entry);
    if (exclusions.covers(rel)) return;
    const stat = lstat(joinPath(targetBytes, rel), { bigint: true, throwIfNoEntry: false });
    if (!stat?.isFile() || stat.size !== BigInt(entry.size) || stat.mtimeNs !== BigInt(entry.mtimeNs)) bytes += entry.size;
    return breathe();
  });
  return bytes;
}
