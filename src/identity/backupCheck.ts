// Before a backup changes anything: is the cluster healthy, and what does this backup belong to?
// A backup of a degraded cluster gives false confidence, so it is refused unless --force (and then
// marked). An API that does not answer is said and recorded, and the backup goes on: the Job may
// have no API access at all (unless --require-api).
import path from 'node:path';
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError } from '../core/errors.js';
import { writeFileDurably } from '../host/durable.js';
import { checkClusterHealth } from './health.js';
import { certificateWarnings, DEFAULT_CERT_WARN_DAYS, readKubeletCertificates } from './certificates.js';
import { nodeNameFact } from './nodeFacts.js';
import { LOCALHOST_KUBECONFIG } from '../restore/preconditions.js';
import { IDENTITY_FILE, IDENTITY_FORMAT, type CertificateRecord, type Fact, type HealthRecord, type IdentityRecord } from './schema.js';

export interface ClusterCheckOptions {
  /** Back up a degraded cluster anyway (the backup is marked so). */
  force: boolean;
  /** An API that does not answer refuses the backup instead of being noted. */
  requireApi: boolean;
  certWarnDays: number;
  /** KUBECONFIG for oc: the environment's, else the node's localhost.kubeconfig. */
  kubeconfig: string;
}

/** What the check found, kept until the seal writes it into identity.json with the pinned deployment. */
export interface ClusterFacts {
  nodeName: Fact;
  clusterId: Fact;
  openshiftVersion: Fact;
  certificates: CertificateRecord[];
  health: HealthRecord;
}

/** The backup's flags as this check reads them, with their defaults. */
export interface BackupClusterFlags {
  force: boolean;
  requireApi?: boolean;
  certWarnDays?: number;
  kubeconfig?: string;
}

export function backupClusterCheck(host: Host, reporter: Reporter, flags: BackupClusterFlags): Promise<ClusterFacts> {
  return checkClusterBeforeBackup(host, reporter, {
    force: flags.force,
    requireApi: flags.requireApi ?? false,
    certWarnDays: flags.certWarnDays ?? DEFAULT_CERT_WARN_DAYS,
    kubeconfig: flags.kubeconfig ?? host.root.path(LOCALHOST_KUBECONFIG),
  });
}

export async function checkClusterBeforeBackup(host: Host, reporter: Reporter, options: ClusterCheckOptions): Promise<ClusterFacts> {
  reporter.stepStart('cluster-health', 'Check the cluster (ClusterOperators, node, MachineConfigPools) and what this backup belongs to');
  const report = await checkClusterHealth(host, options.kubeconfig);
  const { clusterVersion, nodeNames, ...health } = report;
  if (health.state === 'unreachable') {
    if (options.requireApi) {
      reporter.stepEnd('cluster-health', 'failed');
      throw new RecoveryError('precondition', `the API does not answer (${health.apiError}), and --require-api asks for it`, 'check the API (oc get clusterversion), or back up without --require-api');
    }
    reporter.warn(`the API does not answer (${health.apiError}): the cluster's health and ID are not recorded; going on (--require-api refuses instead)`);
  } else if (health.state === 'degraded') {
    const first = `${health.problems[0]}${health.problems.length > 1 ? ` (and ${health.problems.length - 1} more)` : ''}`;
    if (!options.force) {
      reporter.stepEnd('cluster-health', 'failed');
      throw new RecoveryError(
        'precondition',
        `the cluster is not healthy, a backup of it could not bring the node back to a working state: ${first}`,
        'fix the cluster first (oc get co,nodes,mcp), or back it up anyway with --force (the backup is marked as taken from a degraded cluster)',
      );
    }
    health.forced = true;
    reporter.warn(`the cluster is not healthy (${first}); backing it up because of --force: the backup is marked so`);
  }
  const certificates = await readKubeletCertificates(host);
  for (const warning of certificateWarnings(certificates, host.clock.now(), options.certWarnDays)) reporter.warn(warning);
  for (const cert of certificates) if (cert.error) reporter.warn(`the ${cert.name} certificate ${cert.path} is ${cert.error}: its expiry is not recorded`);

  const facts: ClusterFacts = {
    nodeName: await nodeNameFact(host, nodeNames, certificates),
    clusterId: clusterVersion?.spec?.clusterID
      ? { value: clusterVersion.spec.clusterID, source: 'api' }
      : { source: 'unknown', reason: health.state === 'unreachable' ? 'the API did not answer' : 'the ClusterVersion has no spec.clusterID' },
    openshiftVersion: health.version ? { value: health.version, source: 'api' } : { source: 'unknown', reason: 'the API did not answer' },
    certificates,
    health,
  };
  if (!facts.clusterId.value) reporter.warn(`the cluster ID is unknown (${facts.clusterId.reason}): a restore cannot check that this backup is of its cluster`);
  reporter.stepEnd(
    'cluster-health',
    'done',
    `${health.state === 'unreachable' ? 'API unreachable' : health.state}${health.forced ? ' (forced)' : ''}; node ${facts.nodeName.value ?? 'unknown'}, cluster ${facts.clusterId.value ?? 'unknown'}, OpenShift ${facts.openshiftVersion.value ?? 'unknown'}`,
  );
  return facts;
}

/** Writes identity.json into the generation; the seal lists it in backup.json's files. */
export async function writeIdentity(
  host: Host,
  generationDir: string,
  facts: ClusterFacts,
  deployment: IdentityRecord['deployment'],
  toolVersion: string,
): Promise<string> {
  const pinned = { osname: deployment.osname, checksum: deployment.checksum, serial: deployment.serial, ...(deployment.version ? { version: deployment.version } : {}) };
  const record: IdentityRecord = { format: IDENTITY_FORMAT, version: 1, ...facts, deployment: pinned, toolVersion };
  const file = path.join(generationDir, IDENTITY_FILE);
  await writeFileDurably(host.fs, file, `${JSON.stringify(record, null, 2)}\n`, 0o600);
  return file;
}
