// What a backup needs from the node, checked before the first change (the ostree undeploy removes
// a deployment): the three trees, the node's cluster-backup.sh, and a MachineConfig that parses.
// Every problem is listed at once, so the operator fixes them in one go.
import type { Host } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import { TREE_COMPONENTS } from './layout.js';
import { CLUSTER_BACKUP_SCRIPT } from './clusterSnapshot.js';
import { CURRENT_CONFIG, readManagedPaths } from './extras.js';
import { exists } from '../host/durable.js';
import { resolveNodePath } from '../host/resolveNodePath.js';

export async function checkBackupInputs(host: Host): Promise<void> {
  const problems: string[] = [];
  for (const tree of TREE_COMPONENTS) {
    const stat = await host.fs.lstat(await resolveNodePath(host, tree.nodePath)).catch(() => undefined);
    if (!stat?.isDirectory()) problems.push(`${tree.nodePath} is not a directory under ${host.root.dir}`);
  }
  const script = await host.fs.stat(host.root.path(CLUSTER_BACKUP_SCRIPT)).catch(() => undefined);
  if (!script?.isFile()) problems.push(`${CLUSTER_BACKUP_SCRIPT} is missing (it comes with the etcd static pod: is this a control-plane node?)`);
  else if ((script.mode & 0o111) === 0) problems.push(`${CLUSTER_BACKUP_SCRIPT} is not executable`);
  if (await exists(host.fs, host.root.path(CURRENT_CONFIG))) {
    await readManagedPaths(host).catch((error: unknown) => problems.push((error as Error).message));
  }
  if (problems.length > 0) {
    throw new RecoveryError('precondition', `this node cannot be backed up as it is: ${problems.join('; ')}`, 'fix the above and run the backup again');
  }
}
