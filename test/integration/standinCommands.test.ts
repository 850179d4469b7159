// The stand-ins for the node commands our restore runs (systemctl, crictl, crio, oc, setenforce,
// getenforce) and the stand-in cluster-restore.sh are test parts of their own: the restore tests
// prove nothing unless these behave like the real tools where our code can see it (output, exit
// codes, delays, state shared between commands), so each behaviour is pinned here.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { startEtcd } from '../../scripts/sandbox/etcd.js';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const STANDINS = path.resolve(import.meta.dirname, '../../fixtures/standins');
const BIN = path.join(STANDINS, 'bin');
const CONTROL_PLANE = ['etcd', 'etcd-operator', 'kube-apiserver-operator', 'kube-controller-manager-operator', 'kube-scheduler-operator-container'];
const OPERATOR_KINDS = [
  ['etcd', 4],
  ['kubeapiserver', 9],
  ['kubecontrollermanager', 7],
  ['kubescheduler', 6],
] as const;

interface Node {
  dir: string;
  state: string;
  log: string;
  kubeconfig: string;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface Container {
  id: string;
  podSandboxId: string;
  metadata: { name: string; attempt: number };
  state: string;
}

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function makeNode(): Node {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ur-standin-'));
  made.push(dir);
  const kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\n');
  return { dir, state: path.join(dir, 'state'), log: path.join(dir, 'calls.log'), kubeconfig };
}

/** Runs a stand-in by its absolute path, with the stand-ins first on PATH as the restore tests do. */
async function run(node: Node, command: string, args: string[] = [], env: Record<string, string | undefined> = {}, raw = false): Promise<Run> {
  const result = await execa(path.join(BIN, command), args, {
    reject: false,
    stripFinalNewline: !raw,
    env: {
      PATH: `${BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      STANDIN_STATE: node.state,
      STANDIN_LOG: node.log,
      KUBECONFIG: node.kubeconfig,
      STANDIN_CONTAINER_DELAY_POLLS: undefined,
      STANDIN_ROLLOUT_POLLS: undefined,
      ...env,
    },
  });
  return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

async function ps(node: Node, args: string[] = [], env: Record<string, string> = {}): Promise<Container[]> {
  const result = await run(node, 'crictl', ['ps', '-o', 'json', ...args], env);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { containers: Container[] }).containers;
}

function logLines(node: Node): string[] {
  return readFileSync(node.log, 'utf8').split('\n').filter(Boolean);
}

function names(containers: Container[]): string[] {
  return containers.map((c) => c.metadata.name).sort();
}

describe('stand-in node commands', () => {
  it('refuse to run without STANDIN_STATE, but still log the call', async () => {
    const node = makeNode();
    for (const command of ['systemctl', 'crictl', 'crio', 'oc', 'setenforce', 'getenforce']) {
      const result = await run(node, command, ['x'], { STANDIN_STATE: undefined });
      expect(result.code, command).toBe(1);
      expect(result.stderr).toContain('STANDIN_STATE is not set');
    }
    expect(logLines(node)).toEqual(['systemctl x', 'crictl x', 'crio x', 'oc x', 'setenforce x', 'getenforce x']);
  });

  it('setenforce and getenforce keep the SELinux mode', async () => {
    const node = makeNode();
    expect((await run(node, 'getenforce')).stdout).toBe('Enforcing');
    expect((await run(node, 'setenforce', ['0'])).code).toBe(0);
    expect((await run(node, 'getenforce')).stdout).toBe('Permissive');
    expect(readFileSync(path.join(node.state, 'selinux'), 'utf8')).toBe('Permissive\n');
    expect((await run(node, 'setenforce', ['Enforcing'])).code).toBe(0);
    expect((await run(node, 'getenforce')).stdout).toBe('Enforcing');
    await run(node, 'setenforce', ['Permissive']);
    await run(node, 'setenforce', ['1']);
    expect((await run(node, 'getenforce')).stdout).toBe('Enforcing');
    for (const bad of [['2'], ['on'], [], ['0', '1']]) {
      const result = await run(node, 'setenforce', bad);
      expect(result.code, bad.join(' ')).toBe(1);
      expect(result.stderr).toContain('usage:');
    }
    expect((await run(node, 'getenforce')).stdout).toBe('Enforcing');
  });

  it('systemctl starts, stops, enables and reports units under both spellings, with systemd exit codes', async () => {
    const node = makeNode();
    for (const unit of ['kubelet', 'kubelet.service', 'crio', 'crio.service']) {
      expect(await run(node, 'systemctl', ['is-active', unit])).toMatchObject({ code: 0, stdout: 'active' });
      expect(await run(node, 'systemctl', ['is-enabled', unit])).toMatchObject({ code: 0, stdout: 'enabled' });
    }
    expect((await run(node, 'systemctl', ['stop', 'kubelet.service'])).code).toBe(0);
    expect(await run(node, 'systemctl', ['is-active', 'kubelet'])).toMatchObject({ code: 3, stdout: 'inactive' });
    expect(await run(node, 'systemctl', ['is-active', '--quiet', 'kubelet'])).toMatchObject({ code: 3, stdout: '' });
    expect(readFileSync(path.join(node.state, 'units/kubelet.service/active'), 'utf8')).toBe('inactive\n');
    expect((await run(node, 'systemctl', ['disable', 'kubelet'])).code).toBe(0);
    expect(await run(node, 'systemctl', ['is-enabled', 'kubelet.service'])).toMatchObject({ code: 1, stdout: 'disabled' });
    expect((await run(node, 'systemctl', ['enable', 'kubelet.service'])).code).toBe(0);
    expect((await run(node, 'systemctl', ['start', 'kubelet'])).code).toBe(0);
    expect((await run(node, 'systemctl', ['is-active', 'kubelet'])).code).toBe(0);
    expect((await run(node, 'systemctl', ['restart', 'crio.service'])).code).toBe(0);
    expect((await run(node, 'systemctl', ['is-active', 'crio'])).code).toBe(0);
    expect((await run(node, 'systemctl', ['daemon-reload'])).code).toBe(0);

    expect(existsSync(path.join(node.state, 'reboot-requested'))).toBe(false);
    expect((await run(node, 'systemctl', ['reboot'])).code).toBe(0);
    expect(existsSync(path.join(node.state, 'reboot-requested'))).toBe(true);

    const unknownVerb = await run(node, 'systemctl', ['frobnicate', 'kubelet']);
    expect(unknownVerb.code).toBe(1);
    expect(unknownVerb.stderr).toContain('Unknown command verb frobnicate');
    expect(await run(node, 'systemctl', ['is-active', 'nosuch'])).toMatchObject({ code: 3, stdout: 'inactive' });
    expect((await run(node, 'systemctl', ['start', 'nosuch'])).code).toBe(5);
    expect((await run(node, 'systemctl', ['is-enabled', 'nosuch'])).code).toBe(1);
  });

  it('crictl answers only while crio is active, like the real one on a closed socket', async () => {
    const node = makeNode();
    const running = await ps(node);
    expect(names(running)).toEqual(CONTROL_PLANE);
    for (const c of running) {
      expect(c.id).toMatch(/^[0-9a-f]{64}$/);
      expect(c.podSandboxId).toMatch(/^[0-9a-f]{64}$/);
      expect(c.state).toBe('CONTAINER_RUNNING');
    }
    await run(node, 'systemctl', ['stop', 'crio']);
    for (const args of [['ps'], ['ps', '-a', '-o', 'json'], ['rmp', '-fa']]) {
      const refused = await run(node, 'crictl', args);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('connect: connection refused');
      expect(refused.stdout).toBe('');
    }
    await run(node, 'systemctl', ['start', 'crio']);
    expect((await run(node, 'crictl', ['ps'])).code).toBe(0);
  });

  it('crictl ps filters like the real one: running only without -a, --name is a regex, --state, a plain table', async () => {
    const node = makeNode();
    expect(names(await ps(node, ['--name', 'etcd']))).toEqual(['etcd', 'etcd-operator']);
    expect(names(await ps(node, ['--name', '^etcd$']))).toEqual(['etcd']);
    expect(await ps(node, ['--state', 'exited'])).toEqual([]);
    const table = await run(node, 'crictl', ['ps']);
    expect(table.stdout.split('\n')[0]).toMatch(/^CONTAINER\s+IMAGE\s+CREATED\s+STATE\s+NAME\s+ATTEMPT\s+POD ID\s+POD/);
    expect(table.stdout).toContain('kube-scheduler-operator-container');
    expect(table.stdout.split('\n')).toHaveLength(1 + CONTROL_PLANE.length);

    await run(node, 'systemctl', ['stop', 'crio']);
    await run(node, 'systemctl', ['stop', 'kubelet']);
    await run(node, 'systemctl', ['start', 'crio']); // kubelet is down: nothing is recreated
    expect(await ps(node)).toEqual([]);
    const exited = await ps(node, ['-a']);
    expect(names(exited)).toEqual(CONTROL_PLANE);
    expect(exited.every((c) => c.state === 'CONTAINER_EXITED')).toBe(true);
    expect(names(await ps(node, ['--state', 'exited']))).toEqual(CONTROL_PLANE);
  });

  it('crio wipe -f refuses while crio is active and empties the storage once it is stopped', async () => {
    const node = makeNode();
    const before = await ps(node);
    const refused = await run(node, 'crio', ['wipe', '-f']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('crio.service is active');
    expect(existsSync(path.join(node.state, 'crio-wiped'))).toBe(false);
    expect((await ps(node)).map((c) => c.id).sort()).toEqual(before.map((c) => c.id).sort());

    await run(node, 'systemctl', ['stop', 'kubelet']);
    await run(node, 'systemctl', ['stop', 'crio']);
    expect((await run(node, 'crio', ['wipe', '-f'])).code).toBe(0);
    expect(existsSync(path.join(node.state, 'crio-wiped'))).toBe(true);
    await run(node, 'systemctl', ['start', 'crio']);
    expect(await ps(node, ['-a'])).toEqual([]);
  });

  it('the restore cycle (stop, rmp, stop, wipe, start) brings the control plane back with new ids after the configured polls', async () => {
    const node = makeNode();
    const env = { STANDIN_CONTAINER_DELAY_POLLS: '3' };
    const old = new Set((await ps(node)).map((c) => c.id));
    expect(old.size).toBe(CONTROL_PLANE.length);

    await run(node, 'systemctl', ['stop', 'kubelet.service'], env);
    const removed = await run(node, 'crictl', ['rmp', '-fa'], env);
    expect(removed.code).toBe(0);
    expect(removed.stdout.match(/^Removed sandbox [0-9a-f]{64}$/gm)).toHaveLength(CONTROL_PLANE.length);
    expect(await ps(node, ['-a'])).toEqual([]);
    await run(node, 'systemctl', ['stop', 'crio.service'], env);
    expect((await run(node, 'crio', ['wipe', '-f'], env)).code).toBe(0);
    await run(node, 'systemctl', ['start', 'crio.service'], env);
    expect(await ps(node, ['-a'])).toEqual([]); // kubelet is still stopped: nothing comes back

    await run(node, 'systemctl', ['restart', 'kubelet.service'], env);
    for (let poll = 1; poll <= 3; poll++) expect(await ps(node, [], env), `poll ${poll}`).toEqual([]);
    const fresh = await ps(node, [], env);
    expect(names(fresh)).toEqual(CONTROL_PLANE);
    for (const c of fresh) {
      expect(old.has(c.id)).toBe(false);
      expect(c.state).toBe('CONTAINER_RUNNING');
    }
    expect((await ps(node)).map((c) => c.id).sort()).toEqual(fresh.map((c) => c.id).sort()); // stable from now on
  });

  it('restarting kubelet or crio shows the old containers exited for the default two polls, then new ones', async () => {
    const node = makeNode();
    const first = await ps(node);
    await run(node, 'systemctl', ['restart', 'kubelet']);
    for (let poll = 1; poll <= 2; poll++) {
      const all = await ps(node, ['-a']);
      expect(all.map((c) => c.id).sort(), `poll ${poll}`).toEqual(first.map((c) => c.id).sort());
      expect(all.every((c) => c.state === 'CONTAINER_EXITED')).toBe(true);
    }
    const second = await ps(node);
    expect(names(second)).toEqual(CONTROL_PLANE);
    expect(second.some((c) => first.some((f) => f.id === c.id))).toBe(false);
    // The exited ones stay listed with -a, as a real runtime keeps them until garbage collection.
    expect(await ps(node, ['-a'])).toHaveLength(2 * CONTROL_PLANE.length);

    await run(node, 'systemctl', ['restart', 'crio']);
    expect(await ps(node)).toEqual([]);
    expect(await ps(node)).toEqual([]);
    const third = await ps(node);
    expect(names(third)).toEqual(CONTROL_PLANE);
    expect(third.some((c) => second.some((s) => s.id === c.id))).toBe(false);

    // Stopping kubelet leaves the running containers as they are.
    await run(node, 'systemctl', ['stop', 'kubelet']);
    expect((await ps(node)).map((c) => c.id).sort()).toEqual(third.map((c) => c.id).sort());
  });

  it('standin-boot brings the node back as a reboot would: enabled units start, SELinux enforcing', async () => {
    const node = makeNode();
    await run(node, 'setenforce', ['0']);
    await run(node, 'systemctl', ['stop', 'kubelet']);
    await run(node, 'systemctl', ['disable', 'kubelet']);
    await run(node, 'systemctl', ['stop', 'crio']);
    await run(node, 'systemctl', ['reboot']);
    expect((await run(node, 'standin-boot')).code).toBe(0);
    expect(existsSync(path.join(node.state, 'reboot-requested'))).toBe(false);
    expect((await run(node, 'getenforce')).stdout).toBe('Enforcing');
    expect((await run(node, 'systemctl', ['is-active', 'crio'])).code).toBe(0);
    expect((await run(node, 'systemctl', ['is-active', 'kubelet'])).code).toBe(3);
  });

  it('oc needs a readable KUBECONFIG', async () => {
    const node = makeNode();
    for (const kubeconfig of [undefined, '', path.join(node.dir, 'missing')]) {
      const result = await run(node, 'oc', ['get', 'co'], { KUBECONFIG: kubeconfig });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('You must be logged in to the server (Unauthorized)');
      expect(result.stdout).toBe('');
    }
    expect((await run(node, 'oc', ['get', 'co'])).code).toBe(0);
  });

  it('oc prints the status tables our restore shows, and fails on what it does not know', async () => {
    const node = makeNode();
    const upgrade = await run(node, 'oc', ['adm', 'upgrade']);
    expect(upgrade).toMatchObject({ code: 0 });
    expect(upgrade.stdout).toMatch(/^Cluster version is 4\.\d+\.\d+/);
    for (const kind of ['co', 'clusteroperators']) {
      const co = await run(node, 'oc', ['get', kind]);
      expect(co.code).toBe(0);
      expect(co.stdout).toMatch(/^NAME\s+VERSION\s+AVAILABLE\s+PROGRESSING\s+DEGRADED/);
      expect(co.stdout).toMatch(/^kube-apiserver\s+\S+\s+True\s+False\s+False/m);
    }
    const nodes = await run(node, 'oc', ['get', 'nodes', '-o', 'wide']);
    expect(nodes.stdout).toMatch(/^NAME\s+STATUS\s+ROLES.*INTERNAL-IP/);
    expect(nodes.stdout).toMatch(/\sReady\s/);
    expect((await run(node, 'oc', ['get', 'mcp'])).stdout).toMatch(/^master\s+rendered-master-\S+\s+True\s+False\s+False/m);
    expect((await run(node, 'oc', ['get', 'clusterversion'])).stdout).toMatch(/^version\s+4\.\d+\.\d+\s+True\s+False/m);

    const unknown = await run(node, 'oc', ['frobnicate']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown command');
    expect((await run(node, 'oc', ['get', 'widgets'])).code).toBe(1);
    expect((await run(node, 'oc', ['get', 'etcd', 'other', '-o', 'json'])).code).toBe(1);
  });

  it('oc get shows the operator objects as a list, by name, and through the two JSONPaths (no newline)', async () => {
    const node = makeNode();
    for (const [kind, revision] of OPERATOR_KINDS) {
      const list = JSON.parse((await run(node, 'oc', ['get', kind, '-o', 'json'])).stdout) as { items: Array<Record<string, any>> };
      expect(list.items).toHaveLength(1);
      expect(list.items[0]!.status.latestAvailableRevision).toBe(revision);
      expect(list.items[0]!.status.nodeStatuses[0].currentRevision).toBe(revision);
      const object = JSON.parse((await run(node, 'oc', ['get', kind, 'cluster', '-o', 'json'])).stdout) as Record<string, any>;
      expect(object.metadata.name).toBe('cluster');
      expect(object.spec.forceRedeploymentReason).toBeUndefined();
      const latest = await run(node, 'oc', ['get', kind, '-o', 'jsonpath={.items[0].status.latestAvailableRevision}'], {}, true);
      expect(latest).toMatchObject({ code: 0, stdout: String(revision) });
      const current = await run(node, 'oc', ['get', kind, '-o=jsonpath={.items[0].status.nodeStatuses[0].currentRevision}'], {}, true);
      expect(current).toMatchObject({ code: 0, stdout: String(revision) });
    }
  });

  it.each(OPERATOR_KINDS)('oc patch %s forces a new revision that the node reaches after the configured polls', async (kind, revision) => {
    const node = makeNode();
    const env = { STANDIN_ROLLOUT_POLLS: '2' };
    const current = async () => Number((await run(node, 'oc', ['get', kind, '-o', 'jsonpath={.items[0].status.nodeStatuses[0].currentRevision}'], env)).stdout);

    const strategic = await run(node, 'oc', ['patch', kind, 'cluster', '-p', '{"spec":{"forceRedeploymentReason":"x"}}'], env);
    expect(strategic.code).toBe(1); // a custom resource has no strategic merge patch
    expect(strategic.stderr).toContain('strategic-merge-patch');

    const patched = await run(node, 'oc', ['patch', kind, 'cluster', '--type=merge', '-p', '{"spec":{"forceRedeploymentReason":"recovery-1"}}'], env);
    expect(patched).toMatchObject({ code: 0, stdout: `${kind}.operator.openshift.io/cluster patched` });
    const object = JSON.parse((await run(node, 'oc', ['get', kind, 'cluster', '-o', 'json'], env)).stdout) as Record<string, any>;
    expect(object.spec.forceRedeploymentReason).toBe('recovery-1');
    expect(object.status.latestAvailableRevision).toBe(revision + 1);
    expect(object.status.nodeStatuses[0].currentRevision).toBe(revision); // poll 1
    expect(await current()).toBe(revision); // poll 2
    expect(await current()).toBe(revision + 1); // rolled out
    expect(await current()).toBe(revision + 1);

    // Our restore passes the patch as `-p=<json>` and the type last; the same reason changes nothing.
    const again = await run(node, 'oc', ['patch', kind, 'cluster', `-p=${JSON.stringify({ spec: { forceRedeploymentReason: 'recovery-1' } })}`, '--type=merge'], env);
    expect(again.stdout).toBe(`${kind}.operator.openshift.io/cluster patched (no change)`);
    const latest = await run(node, 'oc', ['get', kind, '-o', 'jsonpath={.items[0].status.latestAvailableRevision}'], env);
    expect(Number(latest.stdout)).toBe(revision + 1);
  });

  it('oc patch --patch= with no rollout polls rolls out at the next get', async () => {
    const node = makeNode();
    await run(node, 'oc', ['patch', 'kubeapiserver', 'cluster', '--type', 'merge', '--patch={"spec":{"forceRedeploymentReason":"r"}}'], { STANDIN_ROLLOUT_POLLS: '0' });
    const current = await run(node, 'oc', ['get', 'kubeapiserver', '-o', 'jsonpath={.items[0].status.nodeStatuses[0].currentRevision}']);
    expect(current.stdout).toBe('10');
  });

  it('logs every call in order, one line each', async () => {
    const node = makeNode();
    await run(node, 'oc', ['adm', 'upgrade']);
    await run(node, 'setenforce', ['0']);
    await run(node, 'systemctl', ['stop', 'kubelet.service']);
    await run(node, 'crictl', ['rmp', '-fa']);
    await run(node, 'systemctl', ['stop', 'crio.service']);
    await run(node, 'crio', ['wipe', '-f']);
    await run(node, 'oc', ['patch', 'etcd', 'cluster', '--type=merge', '-p', '{"spec":{"forceRedeploymentReason":"a b"}}']);
    expect(logLines(node)).toEqual([
      'oc adm upgrade',
      'setenforce 0',
      'systemctl stop kubelet.service',
      'crictl rmp -fa',
      'systemctl stop crio.service',
      'crio wipe -f',
      'oc patch etcd cluster --type=merge -p {"spec":{"forceRedeploymentReason":"a b"}}',
    ]);
  });

  it('serialises concurrent calls: parallel patches each add one revision', async () => {
    const node = makeNode();
    const patches = Array.from({ length: 12 }, (_, i) =>
      run(node, 'oc', ['patch', 'etcd', 'cluster', '--type=merge', '-p', JSON.stringify({ spec: { forceRedeploymentReason: `r${i}` } })]),
    );
    const others = Array.from({ length: 8 }, (_, i) => run(node, 'systemctl', [i % 2 ? 'restart' : 'start', 'kubelet']));
    const results = await Promise.all([...patches, ...others]);
    expect(results.every((r) => r.code === 0)).toBe(true);
    const latest = await run(node, 'oc', ['get', 'etcd', '-o', 'jsonpath={.items[0].status.latestAvailableRevision}']);
    expect(latest.stdout).toBe(String(4 + 12));
    expect(logLines(node)).toHaveLength(21);
  });
});

// ----------------------------------------------------------------------------- cluster-restore.sh


function etcdctl(endpoint: string, args: string[]) {
  return execa('etcdctl', [`--endpoints=${endpoint}`, '--dial-timeout=2s', ...args], { reject: false, env: { ETCDCTL_API: '3' } });
}

/** Alive unless gone or a zombie (a reparented etcd may wait for a reaper that never comes). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

describe('stand-in cluster-restore.sh', () => {
  let work: string;
  let root: string;
  let script: string;
  let dataDir: string;
  let pidFile: string;
  let endpoint: string;
  let backupDir: string;
  let log: string;
  let manifest: string;

  const pid = () => Number(readFileSync(pidFile, 'utf8').trim());
  const get = async (key: string) => {
    const result = await etcdctl(endpoint, ['get', key, '--print-value-only']);
    expect(result.exitCode, result.stderr).toBe(0);
    return result.stdout === '' ? undefined : result.stdout;
  };
  const restore = (dir: string, env: Record<string, string> = {}) =>
    execa(script, [dir], { reject: false, env: { STANDIN_LOG: log, ...env } });

  /** Kills the etcd named by the pid file, but only if it is really ours. */
  async function killEtcd() {
    if (!pidFile || !existsSync(pidFile)) return;
    const target = pid();
    if (!target || !alive(target)) return;
    const cmdline = readFileSync(`/proc/${target}/cmdline`, 'utf8').split('\0');
    if (!cmdline.includes(`--data-dir=${dataDir}`)) return;
    process.kill(target, 'SIGTERM');
    for (let i = 0; i < 200 && alive(target); i++) await new Promise((r) => setTimeout(r, 50));
    if (alive(target)) process.kill(target, 'SIGKILL');
  }

  beforeAll(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'ur-restore-standin-'));
    root = path.join(work, 'node');
    mkdirSync(path.join(root, 'usr/local/bin'), { recursive: true });
    script = path.join(root, 'usr/local/bin/cluster-restore.sh');
    copyFileSync(path.join(STANDINS, 'cluster-restore.sh'), script);
    chmodSync(script, 0o755);
    manifest = path.join(root, 'etc/kubernetes/manifests/etcd-pod.yaml');
    mkdirSync(path.dirname(manifest), { recursive: true });
    writeFileSync(manifest, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\n');
    log = path.join(work, 'calls.log');

    // Detached, with its pid and command line in files: cluster-restore.sh kills it and starts another.
    const etcd = await startEtcd(path.join(work, 'etcd/data'));
    ({ endpoint, dataDir, pidFile } = etcd);
    const argsFile = etcd.argsFile;

    const scripts = path.join(root, 'etc/kubernetes/static-pod-resources/etcd-certs/configmaps/etcd-scripts');
    mkdirSync(scripts, { recursive: true });
    writeFileSync(
      path.join(scripts, 'etcd.env'),
      [
        'ETCDCTL_API=3',
        `ETCDCTL_ENDPOINTS=${endpoint}`,
        `SANDBOX_ETCD_PIDFILE=${pidFile}`,
        `SANDBOX_ETCD_DATA_DIR=${dataDir}`,
        `SANDBOX_ETCD_ARGS_FILE=${argsFile}`,
      ]
        .map((line) => `export ${line}\n`)
        .join(''),
    );

    expect((await etcdctl(endpoint, ['put', 'a', '1'])).exitCode).toBe(0);
    backupDir = path.join(work, 'backup');
    mkdirSync(backupDir);
    const save = await etcdctl(endpoint, ['snapshot', 'save', path.join(backupDir, 'snapshot_2026-11-02_100000.db')]);
    expect(save.exitCode, save.stderr).toBe(0);
    // An older, broken snapshot: the script must take the newest one.
    writeFileSync(path.join(backupDir, 'snapshot_2026-11-01_100000.db'), 'not a snapshot');
    mkdirSync(path.join(work, 'resources/static-pod-resources/etcd-pod-4'), { recursive: true });
    await execa('tar', ['czf', path.join(backupDir, 'static_kuberesources_2026-11-02_100000.tar.gz'), '-C', path.join(work, 'resources'), 'static-pod-resources']);
    expect((await etcdctl(endpoint, ['put', 'a', '2'])).exitCode).toBe(0);
    expect((await etcdctl(endpoint, ['put', 'b', '3'])).exitCode).toBe(0);
  });

  afterAll(async () => {
    await killEtcd();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('fails without touching etcd when the dir holds no snapshot', async () => {
    const dir = path.join(work, 'no-snapshot');
    mkdirSync(dir);
    copyFileSync(path.join(backupDir, 'static_kuberesources_2026-11-02_100000.tar.gz'), path.join(dir, 'static_kuberesources_2026-11-02_100000.tar.gz'));
    const before = pid();
    const result = await restore(dir);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/etcd snapshot .* does not exist/);
    expect(pid()).toBe(before);
    expect(alive(before)).toBe(true);
    expect(await get('a')).toBe('2');
    expect(existsSync(manifest)).toBe(true);
    expect(readFileSync(log, 'utf8').trim().split('\n').at(-1)).toBe(`cluster-restore.sh ${dir}`);
  });

  it('fails without touching etcd when the snapshot is damaged, or the static pod resources are missing', async () => {
    const damaged = path.join(work, 'damaged');
    mkdirSync(damaged);
    writeFileSync(path.join(damaged, 'snapshot_2026-11-03_100000.db'), 'garbage'.repeat(1000));
    copyFileSync(path.join(backupDir, 'static_kuberesources_2026-11-02_100000.tar.gz'), path.join(damaged, 'static_kuberesources_2026-11-03_100000.tar.gz'));
    const noResources = path.join(work, 'no-resources');
    mkdirSync(noResources);
    copyFileSync(path.join(backupDir, 'snapshot_2026-11-02_100000.db'), path.join(noResources, 'snapshot_2026-11-02_100000.db'));
    const before = pid();
    for (const dir of [damaged, noResources]) {
      const result = await restore(dir);
      expect(result.exitCode, dir).not.toBe(0);
      expect(pid()).toBe(before);
      expect(alive(before)).toBe(true);
      expect(existsSync(manifest)).toBe(true);
    }
    expect(await get('b')).toBe('3');
    expect((await restore(path.join(work, 'not-a-dir'))).exitCode).toBe(1);
  });

  it('when the restore fails after etcd was stopped, brings etcd back on its old data', async () => {
    const before = pid();
    const result = await restore(backupDir, { STANDIN_CLUSTER_RESTORE_FAIL: '1' });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain('Snapshot restore failed');
    expect(pid()).not.toBe(before);
    expect(alive(before)).toBe(false);
    expect(alive(pid())).toBe(true);
    expect(await get('a')).toBe('2');
    expect(await get('b')).toBe('3');
    expect(existsSync(manifest)).toBe(true);
    expect(readdirSync(path.dirname(dataDir)).filter((n) => n.startsWith('etcd-member-before-restore'))).toEqual([]);
  });

  it('restores the newest snapshot into the running etcd, keeps the old member, and puts the manifest back', async () => {
    const before = pid();
    const result = await restore(backupDir, { ETCD_ETCDCTL_RESTORE: 'true' });
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('snapshot_2026-11-02_100000.db');
    expect(alive(before)).toBe(false);
    expect(alive(pid())).toBe(true);
    expect(await get('a')).toBe('1');
    expect(await get('b')).toBeUndefined();
    expect(existsSync(manifest)).toBe(true);
    expect(readdirSync(path.join(root, 'etc/kubernetes/manifests-stopped'))).toEqual([]);
    const asides = readdirSync(path.dirname(dataDir)).filter((n) => n.startsWith('etcd-member-before-restore-'));
    expect(asides).toHaveLength(1);
    expect(existsSync(path.join(path.dirname(dataDir), asides[0]!, 'snap'))).toBe(true);
    expect(readdirSync(path.dirname(dataDir)).filter((n) => n.startsWith('.etcd-restore-'))).toEqual([]);
    expect(readFileSync(log, 'utf8').trim().split('\n').at(-1)).toBe(`cluster-restore.sh ${backupDir} ETCD_ETCDCTL_RESTORE=true`);
  });
});
