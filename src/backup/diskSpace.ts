// The old Job's estimate of a backup's size, and the check that it fits with a margin. Sizes are
// compared in bytes: the old tool once compared after a unit conversion and was off by 1024^3.
import type { Host } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import { resolveNodePath } from '../host/resolveNodePath.js';
import { walkTree } from '../tree/walk.js';
import { nextScanBatch } from '../tree/scanBatches.js';
import { TREE_COMPONENTS, type TreeName } from './layout.js';
import { CopyPlanBuilder, type CopyPlan } from './copyPlan.js';

export const GiB = 1024 ** 3;
export const DEFAULT_SPACE_MARGIN = 10 * GiB;

export interface TreeSize {
  /** Every entry (dirs, links, devices too): what `cp -v` counts. */
  entries: number;
  files: number;
  /** Sum of apparent sizes of regular files: what hashing reads. */
  bytes: number;
  /** Space the tree takes on disk (holes of sparse files do not count). */
  allocated: number;
}

export interface SpaceEstimate {
  trees: Record<TreeName, TreeSize>;
  /** How each tree is cut for parallel copies: made by the same walk that measures it. */
  copyPlans: Record<TreeName, CopyPlan>;
  staticPodResources: number;
  etcdDb: number;
  /** What the backup is expected to need. */
  total: number;
}

/**
 * Walks `dir` (nothing there measures zero), in another thread with `inThread` where the
 * filesystem has one (HostFs.scanTree).
 */
export async function measureTree(host: Host, dir: string, plan?: CopyPlanBuilder, inThread = false): Promise<TreeSize> {
  const size: TreeSize = { entries: 0, files: 0, bytes: 0, allocated: 0 };
  try {
    await host.fs.lstat(dir);
  } catch {
    return size;
  }
  const count = (allocatedBlocks: number, fileBytes: number | undefined) => {
    size.entries += 1;
    size.allocated += allocatedBlocks * 512;
    if (fileBytes === undefined) return;
    size.files += 1;
    size.bytes += fileBytes;
  };
  if (inThread && host.fs.scanTree) {
    const scan = host.fs.scanTree(dir, []);
    try {
      for (let batch = await nextScanBatch(scan); batch; batch = await nextScanBatch(scan)) {
        const { rels, types, blocks, nlinks, inodes, sizes } = batch;
        for (let i = 0; i < rels.length; i++) {
          const directory = types[i] === 'dir';
          plan?.add(Buffer.from(rels[i]!, 'latin1'), directory, !directory && nlinks[i]! > 1 ? inodes[i] : undefined);
          count(blocks[i]!, types[i] === 'file' ? sizes[i] : undefined);
        }
      }
    } finally {
      await scan.close();
    }
    return size;
  }
  for await (const { rel, stat } of walkTree(host.fs, dir)) {
    const directory = stat.isDirectory();
    plan?.add(rel, directory, !directory && stat.nlink > 1n ? `${stat.dev}:${stat.ino}` : undefined);
    count(Number(stat.blocks), stat.isFile() ? Number(stat.size) : undefined);
  }
  return size;
}

export async function estimateBackupSize(host: Host): Promise<SpaceEstimate> {
  const trees = {} as Record<TreeName, TreeSize>;
  const copyPlans = {} as Record<TreeName, CopyPlan>;
  // The first tree (/etc: tens of thousands of small files) is walked in another thread while this
  // one walks the others: the copies wait for the estimate.
  await Promise.all(
    TREE_COMPONENTS.map(async (tree, index) => {
      const plan = new CopyPlanBuilder();
      trees[tree.name] = await measureTree(host, await resolveNodePath(host, tree.nodePath), plan, index === 0);
      copyPlans[tree.name] = plan.finish();
    }),
  );
  const resources = await measureTree(host, host.root.path('/etc/kubernetes/static-pod-resources'));
  const resourcesBin = await measureTree(host, host.root.path('/etc/kubernetes/static-pod-resources/bin'));
  const etcdDb = await measureTree(host, host.root.path('/var/lib/etcd/member/snap/db'));
  const staticPodResources = resources.allocated - resourcesBin.allocated;
  // Same sum as the old Job: the static pod resources count twice (copied with /etc, and tarred).
  const total = staticPodResources + etcdDb.allocated + trees.etc.allocated + trees.local.allocated + trees.kubelet.allocated;
  return { trees, copyPlans, staticPodResources, etcdDb: etcdDb.allocated, total };
}

export async function freeSpace(host: Host, dir: string): Promise<number> {
  const stats = await host.fs.statfs(dir);
  return Number(stats.bavail) * Number(stats.bsize);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** Refuses unless free > needed + margin; `force` turns the refusal into a warning. */
export function checkSpace(free: number, needed: number, margin: number, force: boolean, where: string): string | undefined {
  if (free > needed + margin) return undefined;
  const message = `not enough free space in ${where}: ${formatBytes(free)} free, the backup needs about ${formatBytes(needed)} plus a margin of ${formatBytes(margin)}`;
  if (force) return message;
  throw new RecoveryError('precondition', message, 'free space, lower the margin with --space-margin, or use --force');
}
