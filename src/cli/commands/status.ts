import { readNodeStatus, type NodeStatus } from '../../status/status.js';
import { formatBytes } from '../../backup/diskSpace.js';
import type { Host } from '../../host/ports.js';
import type { Output } from '../output.js';
import { describeIdentityStatus } from '../../identity/statusView.js';

export async function statusCommand(host: Host, output: Output, dir: string, certWarnDays?: number): Promise<void> {
  const status = await readNodeStatus(host, dir, certWarnDays);
  output.result({ ok: status.problem === undefined, lines: describeStatus(status), json: { command: 'status', ...status } });
}

export function describeStatus(status: NodeStatus): string[] {
  const lines: string[] = [];
  const { backup, partial, restore } = status;
  if (backup) {
    const verified = backup.verified
      ? `${backup.verified.ok ? 'verified' : 'DAMAGED'} (${backup.verified.data ? 'every byte' : 'structure and sizes'}) at ${backup.verified.at}`
      : 'not verified since it was taken';
    lines.push(`Backup ${backup.id}: taken ${backup.completedAt}, ${backup.entries} entries, ${formatBytes(backup.bytes)}, ${verified}`);
    lines.push(`  ${backup.components.map((c) => `${c.name} ${formatBytes(c.bytes)}`).join(', ')}; etcd ${backup.snapshot}`);
    if (backup.images) lines.push(`  images: ${backup.images.count} container image(s) saved, ${formatBytes(backup.images.bytes)}`);
    if (backup.identity) lines.push(...describeIdentityStatus(backup.identity));
    if (backup.warnings.length) lines.push(`  ${backup.warnings.length} warning(s) when taken: ${backup.warnings[0]}${backup.warnings.length > 1 ? ' ...' : ''}`);
  } else {
    lines.push(`No complete backup in ${status.dir}`);
  }
  if (partial) lines.push(`Partial backup ${partial.id} (interrupted; done: ${partial.done.join(', ') || 'nothing'}): the next backup resumes it, --fresh discards it`);
  if (restore) {
    const where = restore.unfinished ? `step ${restore.unfinished} started and not finished` : `${restore.stepsDone} step(s) done`;
    lines.push(
      `Restore of backup ${restore.backupId} under way${restore.fromOldScript ? ' (begun by the old script)' : ''}: phase ${restore.phase ?? 'not started'}${restore.since ? ` since ${restore.since}` : ''}, ${where}`,
    );
    if (restore.rebootPending) lines.push('  the files are restored; the node must reboot before the cluster phase');
    if (restore.lastFailure) lines.push(`  last failure (${restore.lastFailure.at}, ${restore.lastFailure.step}): ${restore.lastFailure.message}`);
  } else {
    lines.push('No restore under way');
  }
  if (status.problem) lines.push(`PROBLEM: ${status.problem}`);
  lines.push(`Next: ${status.next}`);
  return lines;
}
