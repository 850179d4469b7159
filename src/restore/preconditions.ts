// Everything checked before the first destructive step: the backup is whole (structure and sizes,
// or every byte), KUBECONFIG can be read, and the booted OS deployment is the pinned one (else the
// OS must be rolled back first). `--force` turns the backup and deployment refusals into warnings.
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError } from '../core/errors.js';
import { readDeploymentStatus } from '../ostree/deployments.js';
import { planInOneLine, planRollback } from '../ostree/rollbackPlan.js';
import type { GenerationPaths } from '../backup/layout.js';
import type { BackupSummary } from '../backup/summary.js';
import { verifyBackup, type VerifyOptions } from '../verify/verifyBackup.js';
import type { RestoreBackup, RestoreOptions } from './context.js';
import { readIdentity } from '../identity/record.js';
import { checkBackupIdentity } from '../identity/restoreCheck.js';
import { DEFAULT_CERT_WARN_DAYS } from '../identity/certificates.js';
import { checkRestoreSpace } from './freeSpace.js';

/** What cluster-backup.sh's etcd-common-tools exports as KUBECONFIG on every control-plane node. */
export const LOCALHOST_KUBECONFIG = '/etc/kubernetes/static-pod-resources/kube-apiserver-certs/secrets/node-kubeconfigs/localhost.kubeconfig';

export interface PreconditionInput {
  options: RestoreOptions;
  current: { id: string; paths: GenerationPaths; summary: BackupSummary };
  kubeconfig: string;
  /** A restore is being continued (the deployment check is only made before a new one). */
  continuing: boolean;
  /** Components of the backup that the restore under way has already put back: not checked again. */
  restored: readonly string[];
}

export async function checkBeforeRestore(host: Host, reporter: Reporter, input: PreconditionInput): Promise<RestoreBackup> {
  const { options, current, kubeconfig } = input;
  await checkReadable(host, kubeconfig);
  const checkedManifests = new Map<string, string>();
  if (options.force) reporter.warn('--force: the backup is not verified before the restore');
  // The saved images are hashed before a new restore: they are loaded only after the wipe and the reboot.
  else await checkBackupWhole(host, reporter, options, { imageData: !input.continuing, skip: input.restored, onManifestChecked: (name, digest) => checkedManifests.set(name, digest) });
  const booted = input.continuing ? undefined : await pinnedDeploymentCheck(host, reporter, options.force);
  const excluded = (await host.fs.readFile(current.paths.excludeList, 'utf8').catch(() => ''))
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const backup: RestoreBackup = { id: current.id, paths: current.paths, summary: current.summary, excluded, checkedManifests };
  // Identity (node, cluster, deployment), certificate expiry and free space: before a new restore only.
  if (!input.continuing) await checkBelongsAndFits(host, reporter, backup, kubeconfig, options, booted);
  return backup;
}

async function checkBelongsAndFits(host: Host, reporter: Reporter, backup: RestoreBackup, kubeconfig: string, options: RestoreOptions, booted: string | undefined): Promise<void> {
  const identity = await readIdentity(host, backup.paths.dir, backup.summary);
  await checkBackupIdentity(host, reporter, { summary: backup.summary, identity, kubeconfig, force: options.force, certWarnDays: options.certWarnDays ?? DEFAULT_CERT_WARN_DAYS, booted });
  await checkRestoreSpace(host, reporter, backup, options.force);
}

async function checkReadable(host: Host, file: string): Promise<void> {
  try {
    const handle = await host.fs.open(file, 'r');
    await handle.close();
  } catch (error) {
    throw new RecoveryError(
      'precondition',
      `the kubeconfig ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}): oc needs it to show and redeploy the cluster`,
      `export KUBECONFIG=<a readable kubeconfig> (on the node: ${LOCALHOST_KUBECONFIG})`,
    );
  }
}

async function checkBackupWhole(host: Host, reporter: Reporter, options: RestoreOptions, verifyOptions: VerifyOptions): Promise<void> {
  const verdict = await verifyBackup(host, reporter, options.dir, options.verifyData, verifyOptions);
  if (verdict.ok) return;
  const problems = verdict.components.flatMap((c) => c.problems.map((p) => `${c.name}/${p.path}: ${p.problem}`));
  throw new RecoveryError(
    'precondition',
    `the backup ${verdict.id} is damaged, nothing was touched: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`,
    'upgrade-recovery verify --data for the full list; restore anyway only if you must: --force',
  );
}

export async function checkPinnedDeployment(host: Host, reporter: Reporter, force: boolean): Promise<void> {
  await pinnedDeploymentCheck(host, reporter, force);
}

/** checkPinnedDeployment, giving the booted deployment's checksum for the identity check. */
async function pinnedDeploymentCheck(host: Host, reporter: Reporter, force: boolean): Promise<string | undefined> {
  // The same reading and the same decision as `upgrade-recovery rollback`, so the refusal names
  // exactly what that command would do.
  const status = await readDeploymentStatus(host, reporter);
  const plan = planRollback(status.deployments);
  const booted = plan.booted?.checksum;
  if (plan.bootedAssumed && plan.kind !== 'blocked') reporter.warn('no deployment is marked booted; checking deployment 0, as the backup did');
  if (plan.kind === 'none') return booted;
  const message = plan.kind === 'blocked' ? plan.summary : `the OS is not ready for a restore: ${plan.summary}`;
  if (force) {
    reporter.warn(`${message}; going on because of --force`);
    return booted;
  }
  if (plan.kind === 'blocked') {
    throw new RecoveryError('precondition', message, 'ostree admin status to see the deployments; roll back by hand, or restore anyway with --force');
  }
  const steps = planInOneLine(plan, host.root.ostreeSysrootArgs());
  throw new RecoveryError(
    'precondition',
    `${message}; ${plan.kind === 'discard-pending' ? 'the restore reboots, so remove it' : 'roll the OS back to the pinned deployment'} before restoring`,
    `${steps}${plan.reboots ? ' (the node reboots)' : ''}, then run the restore again; or: upgrade-recovery rollback --apply${host.root.isHostRoot ? '' : ` --root ${host.root.dir}`}`,
  );
}
