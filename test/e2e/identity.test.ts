// Know before you touch, with the single binary on a sandbox node: the backup records what it
// belongs to and how the cluster was (refusing a degraded one unless --force, going on without an
// API), status and restore warn about kubelet certificates with their dates, a restore refuses a
// backup of another node or cluster, one that does not fit on a tiny tmpfs, and ends with a health
// report whose exit code tells "restored" from "restored but not healthy".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTestNode, runBinary, type TestNode } from '../support/sandbox.js';
import { resultLine } from '../support/backupChecks.js';
import { restore, standins, type Standins } from '../support/restoreRun.js';
import { kubeletCertificate } from '../../scripts/sandbox/sandboxNode.js';

const CLUSTER_ID = '6f1c2a8e-3b7d-4e0f-9a51-2c8d7e4b9f03';
const OTHER_CLUSTER_ID = 'c0ffee00-1d2e-4f3a-8b4c-5d6e7f809a1b';
const DAY = 86_400_000;

describe('identity, health and certificate checks', () => {
  let node: TestNode;
  let s: Standins;
  const current = () => path.join(node.backupDir, 'current');
  const identity = () => JSON.parse(readFileSync(path.join(current(), 'identity.json'), 'utf8'));
  const setCluster = (set: string | undefined) => {
    const file = path.join(s.env.STANDIN_STATE!, 'oc', 'cluster');
    mkdirSync(path.dirname(file), { recursive: true });
    if (set === undefined) rmSync(file, { force: true });
    else writeFileSync(file, `${set}\n`);
  };
  const backup = (args: string[] = []) => runBinary(['backup', '--root', node.root, '--json', '--space-margin', '0', ...args], { env: s.env });
  const warnings = (run: { events: Array<Record<string, any>> }) => run.events.filter((e) => e.event === 'warning').map((e) => String(e.message));

  beforeAll(async () => {
    node = await makeTestNode({ seed: 61, smallFiles: 60, pods: 1, bigFileBytes: 8 * 1024 * 1024 });
    s = standins(node);
  });
  afterAll(() => node?.cleanup());

  it('a backup of a healthy cluster records node, cluster, version, deployment, certificates and health', async () => {
    const run = await backup();
    expect(run.exitCode, run.stdout).toBe(0);
    const summary = JSON.parse(readFileSync(path.join(current(), 'backup.json'), 'utf8'));
    expect(summary.files.map((f: any) => f.name)).toContain('identity.json');
    const id = identity();
    expect(id).toMatchObject({
      format: 'upgrade-recovery/identity',
      nodeName: { value: 'sno-1.example.lab', source: 'api' },
      clusterId: { value: CLUSTER_ID, source: 'api' },
      openshiftVersion: { value: '4.14.10', source: 'api' },
      deployment: { checksum: summary.ostree.checksum, serial: summary.ostree.serial },
      toolVersion: summary.toolVersion,
      health: { state: 'healthy', problems: [] },
    });
    expect(id.certificates.map((c: any) => c.name)).toEqual(['kubelet-client', 'kubelet-server']);
    expect(new Date(id.certificates[0].notAfter).getTime()).toBeGreaterThan(Date.now() + 300 * DAY);
    expect(run.events.find((e) => e.event === 'stepEnd' && e.step === 'cluster-health')?.detail).toBe(
      `healthy; node sno-1.example.lab, cluster ${CLUSTER_ID}, OpenShift 4.14.10`,
    );
    // identity.json is listed with its SHA-256: verify checks it like the other files.
    expect((await runBinary(['verify', '--root', node.root], { env: s.env })).exitCode).toBe(0);
    writeFileSync(path.join(current(), 'identity.json'), `${readFileSync(path.join(current(), 'identity.json'), 'utf8')} `);
    const damaged = await runBinary(['verify', '--root', node.root, '--json'], { env: s.env });
    expect(damaged.exitCode).not.toBe(0);
    expect(damaged.stdout).toContain('identity.json');
    const status = await runBinary(['status', '--root', node.root], { env: s.env });
    expect(status.stdout).toContain(`of node sno-1.example.lab, cluster ${CLUSTER_ID}, OpenShift 4.14.10; OS deployment`);
    expect(status.stdout).toContain('cluster when taken: healthy');
  });

  it('a degraded cluster is refused before anything changes; --force backs it up, marked so', async () => {
    setCluster('degraded');
    try {
      const before = readlinkSync(current());
      const refused = await backup();
      expect(refused.exitCode).toBe(3);
      const error = resultLine(refused.stdout).error;
      expect(error.message).toMatch(/^the cluster is not healthy, a backup of it could not bring the node back to a working state: .* \(and \d+ more\)$/);
      expect(error.next).toContain('--force');
      expect(readlinkSync(current())).toBe(before);
      expect(refused.events.some((e) => e.event === 'stepStart' && e.step === 'ostree')).toBe(false);

      const forced = await backup(['--force']);
      expect(forced.exitCode, forced.stdout).toBe(0);
      expect(warnings(forced).some((w) => /^the cluster is not healthy \(.*\); backing it up because of --force: the backup is marked so$/.test(w))).toBe(true);
      expect(identity().health).toMatchObject({ state: 'degraded', forced: true });
      const problems: string[] = identity().health.problems;
      expect(problems.find((p) => p.startsWith('ClusterOperator machine-config:'))).toMatch(/^ClusterOperator machine-config: Degraded=True \(Failed to resync 4\.14\.10 because: error during syncRequiredMachineConfigPools: .*\.\.\.\)$/);
      const status = await runBinary(['status', '--root', node.root], { env: s.env });
      expect(status.stdout).toMatch(/cluster when taken: DEGRADED \(taken with --force\): /);
    } finally {
      setCluster(undefined);
    }
  });

  it('an API that does not answer is said and recorded, and the backup goes on; --require-api refuses', async () => {
    setCluster('unreachable');
    try {
      const run = await backup();
      expect(run.exitCode, run.stdout).toBe(0);
      expect(warnings(run)).toContain(
        "the API does not answer (The connection to the server localhost:6443 was refused - did you specify the right host or port?): the cluster's health and ID are not recorded; going on (--require-api refuses instead)",
      );
      expect(identity()).toMatchObject({
        health: { state: 'unreachable' },
        clusterId: { source: 'unknown', reason: 'the API did not answer' },
        nodeName: { value: 'sno-1.example.lab', source: 'kubelet-certificate' },
      });
      const refused = await backup(['--require-api']);
      expect(refused.exitCode).toBe(3);
      expect(resultLine(refused.stdout).error.message).toMatch(/^the API does not answer \(The connection to the server .*\), and --require-api asks for it$/);
    } finally {
      setCluster(undefined);
    }
  });

  it('backup, status and restore warn, with the date, about kubelet certificates that expired or expire soon', async () => {
    const expired = new Date(Math.floor((Date.now() - 3 * DAY) / 1000) * 1000);
    const soon = new Date(Math.floor((Date.now() + 10 * DAY + 3_600_000) / 1000) * 1000);
    writeFileSync(path.join(node.root, 'var/lib/kubelet/pki/kubelet-client-2026-11-01-10-00-00.pem'), kubeletCertificate(expired));
    writeFileSync(path.join(node.root, 'var/lib/kubelet/pki/kubelet-server-2026-11-01-10-00-00.pem'), kubeletCertificate(soon));
    const run = await backup();
    expect(run.exitCode, run.stdout).toBe(0);
    const expiredLine = `the backed-up kubelet-client certificate expired on ${expired.toISOString()}: after a restore the kubelet cannot join until its new CSRs are approved (oc get csr; oc adm certificate approve <name>)`;
    expect(warnings(run)).toContain(expiredLine);
    expect(warnings(run).some((w) => w.startsWith(`the backed-up kubelet-server certificate expires on ${soon.toISOString()} (in 10 day(s))`))).toBe(true);

    const status = await runBinary(['status', '--root', node.root], { env: s.env });
    expect(status.stdout).toContain(`WARNING: ${expiredLine}`);
    expect(status.stdout).toContain(`kubelet-server certificate expires on ${soon.toISOString()}`);
    const narrow = await runBinary(['status', '--root', node.root, '--cert-warn-days', '5', '--json'], { env: s.env });
    expect(resultLine(narrow.stdout).backup.identity.certificateWarnings).toEqual([expiredLine]);

    const dry = await restore(node, s, ['--dry-run']);
    expect(dry.exitCode, dry.stdout).toBe(0);
    expect(warnings(dry)).toContain(expiredLine);
  });

  it('restore refuses a backup of another cluster or node in one line, unless --force', async () => {
    setCluster('other-cluster');
    try {
      const refused = await restore(node, s);
      expect(refused.exitCode).toBe(3);
      expect(resultLine(refused.stdout).error.message).toBe(`this backup does not belong here: the backup is of cluster ${CLUSTER_ID}, this node is in cluster ${OTHER_CLUSTER_ID}`);
      expect(existsSync(path.join(node.backupDir, 'restore.journal'))).toBe(false);
      const forced = await restore(node, s, ['--dry-run', '--force']);
      expect(forced.exitCode, forced.stdout).toBe(0);
      expect(warnings(forced).some((w) => w.includes(`this node is in cluster ${OTHER_CLUSTER_ID}; going on because of --force`))).toBe(true);
    } finally {
      setCluster(undefined);
    }
    // A recorded set of our own (a directory), whose node has another name.
    const otherNode = path.join(node.work, 'other-node');
    mkdirSync(otherNode, { recursive: true });
    const nodes = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../fixtures/cluster/healthy/nodes.json'), 'utf8'));
    nodes.items[0].metadata.name = 'sno-2.example.lab';
    writeFileSync(path.join(otherNode, 'nodes.json'), JSON.stringify(nodes));
    setCluster(otherNode);
    try {
      const refused = await restore(node, s, ['--dry-run']);
      expect(refused.exitCode).toBe(3);
      expect(resultLine(refused.stdout).error.message).toBe('this backup does not belong here: the backup is of node sno-1.example.lab, this is node sno-2.example.lab');
    } finally {
      setCluster(undefined);
    }
  });

  it('a backup without an identity record (older, or the old script) still restores, with a one-line note', async () => {
    const file = path.join(current(), 'backup.json');
    const original = readFileSync(file, 'utf8');
    const summary = JSON.parse(original);
    summary.files = summary.files.filter((f: any) => f.name !== 'identity.json');
    writeFileSync(file, JSON.stringify(summary));
    try {
      const dry = await restore(node, s, ['--dry-run']);
      expect(dry.exitCode, dry.stdout).toBe(0);
      expect(warnings(dry)).toContain('this backup has no identity record (taken before identity checks, or by the old script): its node and cluster cannot be checked');
      const status = await runBinary(['status', '--root', node.root], { env: s.env });
      expect(status.stdout).toContain('of node unknown, cluster unknown, OpenShift unknown');
      expect(status.stdout).toContain('no identity record');
    } finally {
      writeFileSync(file, original);
    }
  });

  it('a restore whose files do not fit stops before its first destructive step, naming needed and free', async () => {
    // /usr/local is a link to /var/usrlocal, as on RHCOS. The tiny filesystem hides its files: all
    // of them (8 MiB and more) must be written.
    const local = path.join(node.root, 'var/usrlocal');
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', local]);
    try {
      const before = s.calls().length;
      const run = await restore(node, s);
      expect(run.exitCode, run.stdout).toBe(3);
      expect(resultLine(run.stdout).error.message).toMatch(
        new RegExp(`^not enough free space for the restore, nothing was touched: /usr/local needs about [\\d.]+ MiB \\([\\d.]+ MiB \\+ [\\d.]+ MiB margin\\) but only [\\d.]+ (MiB|KiB) is free on ${local}$`),
      );
      expect(existsSync(path.join(node.backupDir, 'restore.journal'))).toBe(false);
      expect(s.calls().slice(before).filter((c) => !c.startsWith('oc ') && !c.startsWith('rpm-ostree status'))).toEqual([]);
    } finally {
      await execa('umount', [local], { reject: false });
    }
  });

  it('a restore ends with one health report; restored but not healthy exits 5 and names the CSRs to approve', async () => {
    const files = await restore(node, s);
    expect(files.exitCode, files.stdout).toBe(0);
    expect(resultLine(files.stdout).kind).toBe('reboot-required');
    await s.reboot(node);
    setCluster('degraded');
    try {
      const run = await restore(node, s, ['--resume', '--health-timeout', '0.2']);
      expect(run.exitCode, run.stdout + run.stderr).toBe(5);
      const result = resultLine(run.stdout);
      expect(result).toMatchObject({ ok: false, kind: 'complete', healthy: false, health: { healthy: false, pendingCsrs: ['csr-4mz8q', 'csr-9bq5t'], certificatesExpired: true, health: { state: 'degraded' } } });
      expect(result.next).toBe('oc adm certificate approve csr-4mz8q csr-9bq5t, then check: oc get clusterversion,nodes,clusteroperator');
      expect(existsSync(path.join(node.backupDir, 'restore.journal'))).toBe(false);
    } finally {
      setCluster(undefined);
    }
    // The same report in text, for the operator, from a run that finds the cluster healthy.
    const text = await runBinary(['restore', '--root', node.root, '--poll-interval', '0.02', '--container-timeout', '20', '--redeploy-timeout', '20'], { env: s.env });
    expect(text.exitCode, text.stdout).toBe(0);
    await s.reboot(node);
    const healthy = await runBinary(['restore', '--resume', '--root', node.root, '--poll-interval', '0.02', '--container-timeout', '20', '--redeploy-timeout', '20'], { env: s.env });
    expect(healthy.exitCode, healthy.stdout + healthy.stderr).toBe(0);
    expect(healthy.stdout).toContain('Cluster 4.14.10: healthy; node sno-1.example.lab Ready; 33/33 ClusterOperators fine; 2/2 MachineConfigPools updated');
    expect(healthy.stdout).toContain('The node is back: the cluster is healthy.');
    expect(healthy.stdout).toContain('the backed-up kubelet certificates had expired');
  });
});

