// What `status` says about the backup's identity: which node, cluster, OpenShift version and OS
// deployment it belongs to, how the cluster was when it was taken, and the kubelet certificates
// that have expired or will soon (a restore after that needs CSRs approved).
import { describeDeployment } from '../ostree/status.js';
import type { Host } from '../host/ports.js';
import type { BackupSummary } from '../backup/summary.js';
import { errorMessage } from '../core/errors.js';
import { certificateWarnings } from './certificates.js';
import { readIdentity } from './record.js';
import type { HealthRecord } from './schema.js';

export interface IdentityStatus {
  /** Absent for a backup taken before identity checks (or by the old script). */
  nodeName?: string;
  clusterId?: string;
  openshiftVersion?: string;
  deployment: string;
  health?: Pick<HealthRecord, 'state' | 'checkedAt' | 'problems' | 'forced'>;
  certificates: Array<{ name: string; notAfter?: string; error?: string }>;
  certificateWarnings: string[];
  /** Why nothing more is known. */
  note?: string;
}

export async function readIdentityStatus(host: Host, generationDir: string, summary: BackupSummary, certWarnDays: number): Promise<IdentityStatus> {
  const deployment = describeDeployment(summary.ostree);
  let identity;
  try {
    identity = await readIdentity(host, generationDir, summary);
  } catch (error) {
    return { deployment, certificates: [], certificateWarnings: [], note: errorMessage(error) };
  }
  if (!identity) return { deployment, certificates: [], certificateWarnings: [], note: 'no identity record (taken before identity checks, or by the old script): node and cluster are not known' };
  const { state, checkedAt, problems, forced } = identity.health;
  return {
    ...(identity.nodeName.value ? { nodeName: identity.nodeName.value } : {}),
    ...(identity.clusterId.value ? { clusterId: identity.clusterId.value } : {}),
    ...(identity.openshiftVersion.value ? { openshiftVersion: identity.openshiftVersion.value } : {}),
    deployment,
    health: { state, checkedAt, problems, ...(forced ? { forced } : {}) },
    certificates: identity.certificates.map((c) => ({ name: c.name, ...(c.notAfter ? { notAfter: c.notAfter } : {}), ...(c.error ? { error: c.error } : {}) })),
    certificateWarnings: certificateWarnings(identity.certificates, host.clock.now(), certWarnDays),
  };
}

export function describeIdentityStatus(view: IdentityStatus): string[] {
  const lines = [
    `  of node ${view.nodeName ?? 'unknown'}, cluster ${view.clusterId ?? 'unknown'}, OpenShift ${view.openshiftVersion ?? 'unknown'}; OS deployment ${view.deployment}`,
  ];
  if (view.note) lines.push(`  ${view.note}`);
  if (view.health) {
    const state = view.health.state === 'unreachable' ? 'unknown (the API did not answer)' : view.health.state === 'healthy' ? 'healthy' : `DEGRADED${view.health.forced ? ' (taken with --force)' : ''}: ${view.health.problems[0] ?? ''}${view.health.problems.length > 1 ? ` (and ${view.health.problems.length - 1} more)` : ''}`;
    lines.push(`  cluster when taken: ${state}`);
  }
  const certs = view.certificates.map((c) => `${c.name} ${c.notAfter ? `until ${c.notAfter}` : c.error}`).join(', ');
  if (certs) lines.push(`  kubelet certificates: ${certs}`);
  for (const warning of view.certificateWarnings) lines.push(`  WARNING: ${warning}`);
  return lines;
}
