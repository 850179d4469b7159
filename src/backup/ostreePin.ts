// Keep only the booted deployment and pin it, as the old `--take-backup` did with
// `ostree admin undeploy 1` (until it failed) and `ostree admin pin 0`. We read the status
// instead of assuming the booted deployment is index 0, and check the result.
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError } from '../core/errors.js';
import { parseOstreeStatus, type Deployment } from '../ostree/status.js';
import { firstLine } from '../core/firstLine.js';

export interface PinnedDeployment {
  checksum: string;
  serial: number;
  osname: string;
  version?: string;
  removed: number;
}

export async function readDeployments(host: Host): Promise<Deployment[]> {
  const run = await ostreeAdmin(host, ['status']);
  if (run.exitCode !== 0) throw new RecoveryError('failure', `ostree admin status failed: ${firstLine(run.stderr)}`);
  const parsed = parseOstreeStatus(run.stdout);
  if (!parsed.ok) throw new RecoveryError('failure', `cannot read ostree admin status: ${parsed.reason}`);
  return parsed.deployments;
}

export async function pinBootedDeployment(host: Host, reporter: Reporter): Promise<PinnedDeployment> {
  let deployments = await readDeployments(host);
  if (deployments.length === 0) throw new RecoveryError('failure', 'ostree admin status lists no deployments');
  const keep = bootedOrFirst(deployments, reporter);
  let removed = 0;
  // Undeploy one other deployment at a time and re-read: indexes shift after each removal.
  while (deployments.length > 1) {
    const other = deployments.find((d) => d.checksum !== keep.checksum || d.serial !== keep.serial);
    if (!other || removed > 16) break;
    const run = await ostreeAdmin(host, ['undeploy', String(other.index)]);
    if (run.exitCode !== 0) {
      throw new RecoveryError('failure', `ostree admin undeploy ${other.index} failed: ${firstLine(run.stderr)}`);
    }
    removed += 1;
    deployments = await readDeployments(host);
  }
  const kept = deployments.find((d) => d.checksum === keep.checksum && d.serial === keep.serial);
  if (!kept || deployments.length !== 1) {
    throw new RecoveryError('failure', `could not reduce the deployments to the booted one (${deployments.length} left)`);
  }
  if (!kept.pinned) {
    const run = await ostreeAdmin(host, ['pin', String(kept.index)]);
    if (run.exitCode !== 0) throw new RecoveryError('failure', `ostree admin pin ${kept.index} failed: ${firstLine(run.stderr)}`);
    const after = await readDeployments(host);
    if (!after[kept.index]?.pinned) throw new RecoveryError('failure', 'ostree admin pin did not pin the booted deployment');
  }
  return { checksum: kept.checksum, serial: kept.serial, osname: kept.osname, ...(kept.version ? { version: kept.version } : {}), removed };
}

function bootedOrFirst(deployments: Deployment[], reporter: Reporter): Deployment {
  const booted = deployments.find((d) => d.booted);
  if (booted) return booted;
  // Only a sysroot that is not the running system has no booted marker (a sandbox, a chroot).
  reporter.warn('no deployment is marked booted; keeping deployment 0, as the old tool did');
  return deployments[0]!;
}

function ostreeAdmin(host: Host, args: string[]) {
  return host.runner.run('ostree', ['admin', ...args, ...host.root.ostreeSysrootArgs()]);
}

