// The last step of a restore: is the node back? One aggregated report (cluster version, node,
// every ClusterOperator, MachineConfigPools), waited for up to --health-timeout since operators
// settle for a while after the forced redeployments, plus the pending CSRs an expired kubelet
// certificate leaves behind. The report is the step's journal data: the CLI turns it into the
// final lines and the exit code (0 healthy, 5 restored but not healthy).
import { z } from 'zod';
import { ClusterApi } from '../identity/clusterApi.js';
import { checkClusterHealth, describeHealth, type HealthReport } from '../identity/health.js';
import { anyExpired } from '../identity/certificates.js';
import { healthRecordSchema } from '../identity/schema.js';
import { readIdentity } from '../identity/record.js';
import { LOCALHOST_KUBECONFIG } from './preconditions.js';
import type { RestoreStep, StepContext } from './context.js';

export const HEALTH_STEP = 'health-after';
export const DEFAULT_HEALTH_TIMEOUT_MS = 10 * 60_000;

export const restoreHealthSchema = z.object({
  healthy: z.boolean(),
  health: healthRecordSchema,
  /** Names of CSRs waiting for approval (none approved, no certificate issued). */
  pendingCsrs: z.array(z.string()),
  /** The backed-up kubelet certificates had expired by the time of the restore. */
  certificatesExpired: z.boolean(),
});
export type RestoreHealth = z.infer<typeof restoreHealthSchema>;

export const healthStep: RestoreStep = {
  id: HEALTH_STEP,
  title: 'Check that the node is back: cluster version, node, ClusterOperators, MachineConfigPools',
  permissive: false,
  run: async (context) => checkHealthAfterRestore(context),
  preview: async () => ['would run: oc get clusterversion, clusteroperators, nodes, machineconfigpools, csr -o json (until healthy or --health-timeout)'],
};

async function checkHealthAfterRestore({ host, reporter, options, backup }: StepContext): Promise<RestoreHealth> {
  // The same KUBECONFIG as the restore's own oc calls.
  const config = options.kubeconfig ?? host.root.path(LOCALHOST_KUBECONFIG);
  const deadline = host.clock.now().getTime() + (options.timeouts.healthMs ?? DEFAULT_HEALTH_TIMEOUT_MS);
  let report: HealthReport;
  for (let polls = 0; ; polls++) {
    report = await checkClusterHealth(host, config);
    if (report.state === 'healthy' || host.clock.now().getTime() >= deadline) break;
    if (polls === 0) reporter.info(`the cluster is not healthy yet (${report.problems[0]}); waiting up to ${Math.round((deadline - host.clock.now().getTime()) / 1000)} s`);
    await host.clock.sleep(options.timeouts.pollMs);
  }
  const { clusterVersion: _cv, nodeNames: _n, ...health } = report;
  const csrs = await new ClusterApi(host, config).csrs();
  const pendingCsrs = csrs.ok ? csrs.items.filter((c) => !c.status?.conditions?.length && !c.status?.certificate).map((c) => c.metadata.name) : [];
  const identity = await readIdentity(host, backup.paths.dir, backup.summary).catch(() => undefined);
  const certificatesExpired = identity ? anyExpired(identity.certificates, host.clock.now()) : false;
  for (const line of describeHealth(health)) reporter.info(line);
  return { healthy: health.state === 'healthy' && pendingCsrs.length === 0, health, pendingCsrs, certificatesExpired };
}

/** The closing lines of a complete restore: the verdict, what is still wrong, and what to do. */
export function describeRestoreHealth(result: RestoreHealth): string[] {
  const lines = describeHealth(result.health);
  if (result.pendingCsrs.length) lines.push(`  - ${result.pendingCsrs.length} certificate signing request(s) wait for approval: ${result.pendingCsrs.join(', ')}`);
  if (result.certificatesExpired) lines.push('  - the backed-up kubelet certificates had expired: the kubelet needs its new CSRs approved');
  lines.push(result.healthy ? 'The node is back: the cluster is healthy.' : 'The node is restored but NOT healthy yet: see above.');
  return lines;
}

/** The next command after a complete restore, by its health. */
export function nextAfterRestore(result: RestoreHealth): string {
  if (result.pendingCsrs.length) return `oc adm certificate approve ${result.pendingCsrs.join(' ')}, then check: oc get clusterversion,nodes,clusteroperator`;
  if (result.health.state === 'unreachable') return 'the API does not answer: check kubelet and CRI-O (journalctl -u kubelet), then: oc get clusterversion,nodes,clusteroperator';
  if (!result.healthy) return 'look at what is still wrong (oc get co,nodes,mcp; oc describe co <name>); operators often settle within minutes';
  return 'nothing: check the workloads (oc get pods -A | grep -v Running)';
}
