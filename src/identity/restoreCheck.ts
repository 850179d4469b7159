// Before a new restore: is this backup of this node, of this cluster, and of the OS deployment
// that is booted? A backup of another node or cluster would bring back the wrong machine; one of
// another deployment would put files of one OS onto another. Each is refused in one line unless
// --force. What cannot be checked (no identity record, an API that does not answer) is said, not
// refused: the node may be half broken, and that is when a restore is needed.
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError } from '../core/errors.js';
import type { BackupSummary } from '../backup/summary.js';
import { ClusterApi } from './clusterApi.js';
import { certificateWarnings } from './certificates.js';
import { clusterVersionOf, nodeNameFact } from './nodeFacts.js';
import type { IdentityRecord } from './schema.js';

export interface IdentityCheckInput {
  summary: BackupSummary;
  identity: IdentityRecord | undefined;
  kubeconfig: string;
  force: boolean;
  certWarnDays: number;
  /** The booted deployment's checksum, as the pinned-deployment check read it (deployment 0 where none is marked). */
  booted: string | undefined;
}

export async function checkBackupIdentity(host: Host, reporter: Reporter, input: IdentityCheckInput): Promise<void> {
  const { identity, summary } = input;
  const mismatches: string[] = [];
  const { booted } = input;
  if (booted && booted !== summary.ostree.checksum) {
    mismatches.push(`the backup pinned the OS deployment ${short(summary.ostree.checksum)}, but ${short(booted)} is booted`);
  }
  if (!identity) {
    reporter.warn('this backup has no identity record (taken before identity checks, or by the old script): its node and cluster cannot be checked');
  } else {
    const live = await liveIdentity(host, input.kubeconfig);
    const node = identity.nodeName.value;
    if (node && live.nodeName && node !== live.nodeName) mismatches.push(`the backup is of node ${node}, this is node ${live.nodeName}`);
    const cluster = identity.clusterId.value;
    if (cluster && live.clusterId && cluster !== live.clusterId) mismatches.push(`the backup is of cluster ${cluster}, this node is in cluster ${live.clusterId}`);
    const unchecked = [!(node && live.nodeName) && 'node name', !(cluster && live.clusterId) && 'cluster ID'].filter(Boolean);
    if (unchecked.length) reporter.warn(`could not check the ${unchecked.join(' and ')} (${live.why ?? 'not recorded in the backup'}): make sure this backup is of this node`);
    for (const warning of certificateWarnings(identity.certificates, host.clock.now(), input.certWarnDays)) reporter.warn(warning);
    if (identity.health.forced) reporter.warn(`this backup was taken from a degraded cluster (with --force): ${identity.health.problems[0] ?? ''}`);
  }
  if (mismatches.length === 0) return;
  const message = `this backup does not belong here: ${mismatches.join('; ')}`;
  if (input.force) {
    reporter.warn(`${message}; going on because of --force`);
    return;
  }
  throw new RecoveryError('precondition', message, 'restore the backup taken on this node (--dir), roll the OS back first (upgrade-recovery rollback), or, if you are sure: --force');
}

async function liveIdentity(host: Host, kubeconfig: string): Promise<{ nodeName?: string; clusterId?: string; why?: string }> {
  const api = new ClusterApi(host, kubeconfig);
  const versions = await api.clusterVersions();
  const nodes = versions.ok ? await api.nodes() : versions;
  const clusterId = versions.ok ? clusterVersionOf(versions.items)?.spec?.clusterID : undefined;
  const nodeName = (await nodeNameFact(host, nodes.ok ? nodes.items.map((n) => n.metadata.name) : [])).value;
  return { ...(nodeName ? { nodeName } : {}), ...(clusterId ? { clusterId } : {}), ...(versions.ok ? {} : { why: `the API does not answer: ${versions.reason}` }) };
}

function short(checksum: string): string {
  return checksum.slice(0, 12);
}
