// One verdict on the cluster, as Lifecycle Agent aggregates it: the cluster version, the node
// Ready, every ClusterOperator Available / not Progressing / not Degraded, every MachineConfigPool
// updated and not degraded. Either the API answered and we say what is wrong, or it did not and we
// say that, with oc's words.
import { clusterVersionOf } from './nodeFacts.js';
import { firstLine } from '../core/firstLine.js';
import type { Host } from '../host/ports.js';
import { ClusterApi, conditionOf, type ApiAnswer, type ClusterOperator, type ClusterVersion, type MachineConfigPool, type ClusterNode } from './clusterApi.js';
import type { HealthRecord } from './schema.js';

export interface HealthReport extends HealthRecord {
  /** The cluster version object, when the API answered (the identity reads it too). */
  clusterVersion?: ClusterVersion;
  nodeNames: string[];
}

export async function checkClusterHealth(host: Host, kubeconfig: string): Promise<HealthReport> {
  const api = new ClusterApi(host, kubeconfig);
  const checkedAt = host.clock.now().toISOString();
  const versions = await api.clusterVersions();
  if (!versions.ok) return { checkedAt, state: 'unreachable', apiError: versions.reason, problems: [`the API does not answer: ${versions.reason}`], operators: [], pools: [], nodes: [], nodeNames: [] };
  const [operators, nodes, pools] = [await api.clusterOperators(), await api.nodes(), await api.machineConfigPools()];
  const problems: string[] = [];
  const clusterVersion = clusterVersionOf(versions.items);
  const version = clusterVersion ? versionOf(clusterVersion) : undefined;
  if (!clusterVersion) problems.push('there is no ClusterVersion object');
  else problems.push(...clusterVersionProblems(clusterVersion));
  const report: HealthReport = { checkedAt, state: 'healthy', problems, operators: [], pools: [], nodes: [], nodeNames: [], ...(version ? { version } : {}), ...(clusterVersion ? { clusterVersion } : {}) };
  if (nodes.ok) {
    if (nodes.items.length === 0) problems.push('no node is listed');
    for (const node of nodes.items) {
      const ready = conditionOf(node, 'Ready');
      const ok = ready?.status === 'True';
      report.nodes.push({ name: node.metadata.name, ok, ...(ok ? {} : { detail: nodeDetail(node) }) });
      report.nodeNames.push(node.metadata.name);
      if (!ok) problems.push(`node ${node.metadata.name} is not Ready: ${nodeDetail(node)}`);
    }
  } else problems.push(`cannot list the nodes: ${nodes.reason}`);
  judgeEach('ClusterOperator', operators, operatorProblems, report.operators, problems);
  judgeEach('MachineConfigPool', pools, poolProblems, report.pools, problems);
  report.state = problems.length ? 'degraded' : 'healthy';
  return report;
}

/** Each object's problems, one line of the report per object; a list the API refused is a problem itself. */
function judgeEach<T extends { metadata: { name: string } }>(
  kind: string,
  answer: ApiAnswer<T>,
  problemsOf: (item: T) => string[],
  lines: HealthRecord['operators'],
  problems: string[],
): void {
  if (!answer.ok) {
    problems.push(`cannot list the ${kind}s: ${answer.reason}`);
    return;
  }
  for (const item of answer.items) {
    const wrong = problemsOf(item);
    lines.push({ name: item.metadata.name, ok: wrong.length === 0, ...(wrong.length ? { detail: wrong.join('; ') } : {}) });
    if (wrong.length) problems.push(`${kind} ${item.metadata.name}: ${wrong.join('; ')}`);
  }
}

/** The version the cluster runs: the last completed one in the history, else the desired one. */
export function versionOf(clusterVersion: ClusterVersion): string | undefined {
  const completed = clusterVersion.status?.history?.find((h) => h.state === 'Completed')?.version;
  return completed ?? clusterVersion.status?.desired?.version;
}

function clusterVersionProblems(cv: ClusterVersion): string[] {
  const problems: string[] = [];
  const available = conditionOf(cv, 'Available');
  const failing = conditionOf(cv, 'Failing');
  const progressing = conditionOf(cv, 'Progressing');
  if (available?.status !== 'True') problems.push(`ClusterVersion is not Available${said(available)}`);
  if (failing?.status === 'True') problems.push(`ClusterVersion is Failing${said(failing)}`);
  if (progressing?.status === 'True') problems.push(`ClusterVersion is Progressing${said(progressing)}`);
  return problems;
}

function operatorProblems(operator: ClusterOperator): string[] {
  const wrong: string[] = [];
  const expect: Array<[string, string]> = [['Available', 'True'], ['Progressing', 'False'], ['Degraded', 'False']];
  for (const [type, good] of expect) {
    const c = conditionOf(operator, type);
    if (c?.status !== good) wrong.push(`${type}=${c?.status ?? 'missing'}${said(c)}`);
  }
  return wrong;
}

function poolProblems(pool: MachineConfigPool): string[] {
  const wrong: string[] = [];
  const updated = conditionOf(pool, 'Updated');
  const degraded = conditionOf(pool, 'Degraded');
  if (updated?.status !== 'True') wrong.push(`not Updated (${pool.status?.updatedMachineCount ?? '?'}/${pool.status?.machineCount ?? '?'} machines)`);
  if (degraded?.status === 'True') wrong.push(`Degraded${said(degraded)}`);
  return wrong;
}

function nodeDetail(node: ClusterNode): string {
  const ready = conditionOf(node, 'Ready');
  return `Ready=${ready?.status ?? 'missing'}${said(ready)}`;
}

function said(c: { reason?: string | undefined; message?: string | undefined } | undefined): string {
  const text = c?.message || c?.reason;
  return text ? ` (${shorten(text)})` : '';
}

function shorten(text: string): string {
  const line = firstLine(text);
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

/** The report in a few lines: the verdict first, then what is wrong (at most `limit` lines). */
export function describeHealth(report: HealthRecord, limit = 12): string[] {
  if (report.state === 'unreachable') return [`Cluster: unknown, the API does not answer (${report.apiError ?? 'no answer'})`];
  const operators = `${report.operators.filter((o) => o.ok).length}/${report.operators.length} ClusterOperators fine`;
  const nodes = report.nodes.map((n) => `node ${n.name} ${n.ok ? 'Ready' : 'NOT Ready'}`).join(', ') || 'no node';
  const pools = `${report.pools.filter((p) => p.ok).length}/${report.pools.length} MachineConfigPools updated`;
  const head = `Cluster ${report.version ?? '(version unknown)'}: ${report.state === 'healthy' ? 'healthy' : 'NOT healthy'}; ${nodes}; ${operators}; ${pools}`;
  const lines = [head, ...report.problems.slice(0, limit).map((p) => `  - ${p}`)];
  if (report.problems.length > limit) lines.push(`  - and ${report.problems.length - limit} more (oc get co,nodes,mcp)`);
  return lines;
}
