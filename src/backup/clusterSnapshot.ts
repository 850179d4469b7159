// cluster/: the etcd snapshot and the static pod resources, made by the node's own
// cluster-backup.sh (with --force, as the old Job did), then the snapshot's own status.
import path from 'node:path';
import { z } from 'zod';
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError } from '../core/errors.js';

export const CLUSTER_BACKUP_SCRIPT = '/usr/local/bin/cluster-backup.sh';
/**
 * etcdctl retries an unreachable etcd without end: a hung script must not hold the maintenance
 * window (or the Job's deadline) hostage. A healthy SNO snapshot takes seconds to a minute.
 */
export const CLUSTER_BACKUP_TIMEOUT_MS = 10 * 60 * 1000;

const snapshotStatusSchema = z.object({
  hash: z.number(),
  revision: z.number(),
  totalKey: z.number(),
  totalSize: z.number(),
});
export type SnapshotStatus = z.infer<typeof snapshotStatusSchema>;

export interface ClusterBackupResult {
  snapshot: string;
  staticResources: string;
  status?: SnapshotStatus;
}

export async function takeClusterBackup(host: Host, reporter: Reporter, targetDir: string): Promise<ClusterBackupResult> {
  const script = host.root.path(CLUSTER_BACKUP_SCRIPT);
  const run = await host.runner.run(script, ['--force', targetDir], { timeoutMs: CLUSTER_BACKUP_TIMEOUT_MS });
  if (run.signal) {
    throw new RecoveryError('failure', `${CLUSTER_BACKUP_SCRIPT} did not finish within ${CLUSTER_BACKUP_TIMEOUT_MS / 60000} minutes (is etcd up?); stopped it`);
  }
  if (run.exitCode !== 0) {
    const tail = (run.stderr || run.stdout).trim().split('\n').slice(-3).join(' | ');
    throw new RecoveryError('failure', `${CLUSTER_BACKUP_SCRIPT} failed (exit ${run.exitCode}): ${tail}`);
  }
  const names = await host.fs.readdir(targetDir);
  const snapshot = newest(names, /^snapshot_.*\.db$/);
  const staticResources = newest(names, /^static_kuberesources_.*\.tar\.gz$/);
  if (!snapshot || !staticResources) {
    throw new RecoveryError('failure', `${CLUSTER_BACKUP_SCRIPT} did not leave a snapshot_*.db and a static_kuberesources_*.tar.gz in ${targetDir}`);
  }
  const status = await snapshotStatus(host, path.join(targetDir, snapshot));
  if (!status) reporter.warn('neither etcdutl nor etcdctl could report the snapshot status; it is not recorded');
  return { snapshot, staticResources, ...(status ? { status } : {}) };
}

/** `etcdutl snapshot status` (etcd 3.5+) or `etcdctl snapshot status` (3.4); undefined if neither works. */
export async function snapshotStatus(host: Host, file: string): Promise<SnapshotStatus | undefined> {
  for (const tool of ['etcdutl', 'etcdctl']) {
    const run = await host.runner.run(tool, ['snapshot', 'status', file, '-w', 'json'], { env: { ETCDCTL_API: '3' } });
    if (run.exitCode !== 0) continue;
    try {
      const parsed = snapshotStatusSchema.safeParse(JSON.parse(run.stdout));
      if (parsed.success) return parsed.data;
    } catch {
      // not JSON: try the next tool
    }
  }
  return undefined;
}

/** The file names carry a timestamp, so the last one in name order is the newest. */
function newest(names: string[], pattern: RegExp): string | undefined {
  return names.filter((n) => pattern.test(n)).sort().at(-1);
}
