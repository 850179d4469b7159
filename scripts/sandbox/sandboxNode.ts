// Builds a realistic SNO node root in a directory, for the demo, the tests and the benchmark:
// /etc with thousands of small files, certificates, static-pod-resources revisions and
// tmpfiles.d; /usr/local with the cluster-backup.sh stand-in, a big binary and a sparse file;
// /var/lib/kubelet with pods whose projected volumes use the `..data` symlink pattern; hard links,
// setuid/setgid/sticky modes, owners, nanosecond mtimes, a fifo, a device node, a name that is not
// UTF-8, SELinux labels on every entry and POSIX ACLs; a MachineConfig; and a real ostree sysroot
// with two deployments. Everything derives from `seed`, so a new seed is a tree never seen before.
// Needs root (chown, mknod, security.* xattrs) and Debian's ostree, attr and acl.
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningEtcd } from './etcd.js';
import { makeCertificatePem } from './certificate.js';

/** The node name of a sandbox node (its /etc/hostname, the stand-in oc's node). */
export const SANDBOX_NODE_NAME = 'sno-1.example.lab';

export interface SandboxOptions {
  seed?: number;
  /** Small config files spread over /etc (certs, selinux contexts, systemd units...). */
  smallFiles?: number;
  /** Pods under /var/lib/kubelet/pods, each with projected, configmap and secret volumes. */
  pods?: number;
  /** Size of the big binary in /usr/local/bin (real bytes). */
  bigFileBytes?: number;
  /** Apparent size of the sparse file (only a few blocks hold data). */
  sparseBytes?: number;
  /** The etcd that cluster-backup.sh snapshots and cluster-restore.sh restores: written into etcd.env. */
  etcd?: Pick<RunningEtcd, 'endpoint' | 'dataDir' | 'pidFile' | 'argsFile'>;
}

export interface SandboxNode {
  root: string;
  /** The node paths listed in the MachineConfig that lie outside the three copied trees. */
  extras: string[];
  /** A listed path that is absent on purpose (must be reported, not fatal). */
  missingExtra: string;
  /** The deployments' commits, newest first (as `ostree admin status` lists them). */
  deployments: string[];
  /** Gives the node a new boot id, as a reboot would. */
  reboot(): Promise<string>;
}

/** The repo's stand-in commands; found by walking up, so it works from source and from a bundle. */
export const STANDINS_DIR = path.join(repoRoot(path.dirname(fileURLToPath(import.meta.url))), 'fixtures/standins');

function repoRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'fixtures/standins'))) return dir;
    if (dir === path.dirname(dir)) throw new Error(`fixtures/standins not found above ${from}`);
  }
}

const LABELS = {
  etc: 'system_u:object_r:etc_t:s0',
  cert: 'system_u:object_r:cert_t:s0',
  kube: 'system_u:object_r:kubernetes_file_t:s0',
  bin: 'system_u:object_r:bin_t:s0',
  usr: 'system_u:object_r:usr_t:s0',
  kubelet: 'system_u:object_r:container_var_lib_t:s0',
  volume: 'system_u:object_r:container_file_t:s0:c12,c345',
  shadow: 'system_u:object_r:shadow_t:s0',
} as const;

export async function createSandboxNode(root: string, options: SandboxOptions = {}): Promise<SandboxNode> {
  const random = prng(options.seed ?? 1);
  await fs.mkdir(root, { recursive: true });
  const labels: Array<[string, string]> = [];
  const links: Array<[string, string]> = [];
  const w = new TreeWriter(root, random, labels);

  // ----- /etc
  await w.file('/etc/hostname', 'sno-1.example.lab\n', { label: LABELS.etc });
  await w.file('/etc/passwd', 'root:x:0:0:root:/root:/bin/bash\ncore:x:1000:1000::/var/home/core:/bin/bash\n', { label: LABELS.etc });
  await w.file('/etc/shadow', 'root:*:19000:0:99999:7:::\n', { mode: 0o000, label: LABELS.shadow });
  await w.file('/etc/sudoers', 'root ALL=(ALL) ALL\n', { mode: 0o440, label: LABELS.etc });
  await w.symlink('../usr/lib/os-release', '/etc/os-release', LABELS.etc); // dangling in the sandbox, as in a chroot
  await w.file('/etc/.updated', 'TIMESTAMP=1700000000\n', { label: LABELS.etc });
  await w.dir('/etc/sticky-spool', { mode: 0o1777, label: LABELS.etc });
  await w.dir('/etc/setgid-dir', { mode: 0o2775, gid: 994, label: LABELS.etc });
  await w.file('/etc/setgid-dir/owned-by-others.conf', 'x=1\n', { uid: 997, gid: 994, mode: 0o640, label: LABELS.etc });
  const weird = Buffer.concat([Buffer.from('/etc/weird/'), Buffer.from([0x6e, 0xff, 0xfe, 0x2e, 0x63, 0x6f, 0x6e, 0x66])]);
  await w.dir('/etc/weird', { label: LABELS.etc });
  await fs.writeFile(Buffer.concat([Buffer.from(root), weird]), 'not utf-8 name\n');
  labels.push([weird.toString('latin1'), LABELS.etc]);
  await w.file('/etc/weird/tab\tand newline\nname', 'odd but valid UTF-8\n', { label: LABELS.etc });

  // Thousands of small files, as /etc/pki, /etc/selinux and /etc/systemd hold on RHCOS.
  const smallDirs = ['pki/tls/certs', 'pki/ca-trust/extracted/pem', 'selinux/targeted/contexts/files', 'systemd/system', 'sysconfig', 'NetworkManager/system-connections', 'containers/registries.d'];
  const smallFiles = options.smallFiles ?? 3000;
  for (let i = 0; i < smallFiles; i++) {
    const dir = smallDirs[i % smallDirs.length]!;
    const isCert = dir.startsWith('pki');
    await w.file(`/etc/${dir}/${isCert ? 'cert' : 'conf'}-${i}.${isCert ? 'pem' : 'conf'}`, isCert ? pem(random) : config(random), {
      label: isCert ? LABELS.cert : LABELS.etc,
      mode: random() < 0.1 ? 0o600 : 0o644,
    });
  }
  // RHCOS keeps the CA bundle under two names that are one inode.
  await w.file('/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', pem(random).repeat(20), { label: LABELS.cert });
  links.push(['/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', '/etc/pki/tls/certs/ca-bundle.crt']);
  await w.file('/etc/NetworkManager/system-connections/br-ex.nmconnection', '[connection]\nid=br-ex\n', { mode: 0o600, label: LABELS.etc });
  await w.acl('/etc/NetworkManager/system-connections/br-ex.nmconnection', ['-m', 'u:994:r--']);
  await w.acl('/etc/containers/registries.d', ['-d', '-m', 'g:994:r-x']);

  // Static pods: manifests name the revision, static-pod-resources keep every revision.
  const revisions = { 'kube-apiserver-pod': 9, 'kube-controller-manager-pod': 7, 'kube-scheduler-pod': 6, 'etcd-pod': 4 } as const;
  for (const [resource, latest] of Object.entries(revisions)) {
    await w.file(`/etc/kubernetes/manifests/${resource}.yaml`, podManifest(resource, latest), { label: LABELS.kube, mode: 0o600 });
    for (let revision = Math.max(1, latest - 2); revision <= latest; revision++) {
      const base = `/etc/kubernetes/static-pod-resources/${resource}-${revision}`;
      await w.file(`${base}/${resource}.yaml`, podManifest(resource, revision), { label: LABELS.kube, mode: 0o600 });
      await w.file(`${base}/configmaps/config/config.yaml`, config(random), { label: LABELS.kube });
      await w.file(`${base}/secrets/serving-cert/tls.crt`, pem(random), { label: LABELS.kube, mode: 0o600 });
      await w.file(`${base}/secrets/serving-cert/tls.key`, pem(random, 'PRIVATE KEY'), { label: LABELS.kube, mode: 0o600 });
    }
  }
  const scripts = '/etc/kubernetes/static-pod-resources/etcd-certs/configmaps/etcd-scripts';
  await w.file(`${scripts}/etcd.env`, etcdEnv(options.etcd), { label: LABELS.kube });
  await w.file(`${scripts}/etcd-common-tools`, '# sourced by cluster-backup.sh\n', { label: LABELS.kube });
  await w.file('/etc/kubernetes/static-pod-resources/bin/etcdctl', randomBytes(256 * 1024), { mode: 0o755, label: LABELS.bin });
  await w.file('/etc/kubernetes/static-pod-resources/kube-apiserver-certs/secrets/node-kubeconfigs/localhost.kubeconfig', kubeconfig(), { label: LABELS.kube, mode: 0o600 });
  await w.file('/etc/kubernetes/kubelet.conf', 'kind: KubeletConfiguration\n', { label: LABELS.kube });

  // tmpfiles.d: the /etc paths in the second field become etc.exclude.list.
  await w.file('/etc/tmpfiles.d/sno.conf', '# managed\nd /etc/sno-runtime 0755 root root -\nL /etc/pki/ca-trust/source/anchors/extra.pem - - - - /var/lib/extra.pem\nd /var/lib/other 0755 root root -\n', { label: LABELS.etc });
  await w.file('/etc/tmpfiles.d/iscsi.conf', 'd /etc/iscsi 0700 root root -\n', { label: LABELS.etc });

  // ----- /usr/local: on RHCOS a link into /var, as here
  await fs.mkdir(path.join(root, 'var/usrlocal'), { recursive: true });
  await fs.mkdir(path.join(root, 'usr'), { recursive: true });
  await fs.symlink('../var/usrlocal', path.join(root, 'usr/local'));
  for (const script of ['cluster-backup.sh', 'cluster-restore.sh']) {
    await w.file(`/usr/local/bin/${script}`, await fs.readFile(path.join(STANDINS_DIR, script)), { mode: 0o755, label: LABELS.bin });
  }
  await w.bigFile('/usr/local/bin/node-tool', options.bigFileBytes ?? 24 * 1024 * 1024, { mode: 0o755, label: LABELS.bin });
  await w.file('/usr/local/sbin/privileged-helper', randomBytes(64 * 1024), { mode: 0o4755, label: LABELS.bin });
  await w.file('/usr/local/share/doc/README', 'local additions\n', { label: LABELS.usr });
  await w.sparse('/usr/local/share/disk.img', options.sparseBytes ?? 64 * 1024 * 1024, random, LABELS.usr);
  await w.symlink('node-tool', '/usr/local/bin/nt', LABELS.bin);
  await w.fifo('/usr/local/share/control.fifo', LABELS.usr);
  await w.chardev('/usr/local/share/null-device', 1, 3, LABELS.usr);

  // ----- /var/lib/kubelet
  await w.file('/var/lib/kubelet/config.json', '{"auths":{}}\n', { mode: 0o600, label: LABELS.kubelet });
  await w.file('/var/lib/kubelet/kubeconfig', kubeconfig(), { mode: 0o600, label: LABELS.kubelet });
  await w.file('/var/lib/kubelet/cpu_manager_state', '{"policyName":"static","defaultCpuSet":"0-1"}', { label: LABELS.kubelet });
  // Real certificates (identity and expiry checks read them): valid from a month ago for a year.
  await w.file('/var/lib/kubelet/pki/kubelet-client-2026-11-01-10-00-00.pem', kubeletCertificate(), { mode: 0o600, label: LABELS.cert });
  await w.file('/var/lib/kubelet/pki/kubelet-server-2026-11-01-10-00-00.pem', kubeletCertificate(), { mode: 0o600, label: LABELS.cert });
  await w.symlink('/var/lib/kubelet/pki/kubelet-client-2026-11-01-10-00-00.pem', '/var/lib/kubelet/pki/kubelet-client-current.pem', LABELS.cert);
  await w.symlink('/var/lib/kubelet/pki/kubelet-server-2026-11-01-10-00-00.pem', '/var/lib/kubelet/pki/kubelet-server-current.pem', LABELS.cert);
  for (let p = 0; p < (options.pods ?? 30); p++) {
    const pod = `/var/lib/kubelet/pods/${uuid(random)}`;
    await w.file(`${pod}/etc-hosts`, '127.0.0.1 localhost\n', { label: LABELS.volume });
    await w.file(`${pod}/containers/app/${hex(random, 8)}`, '', { label: LABELS.volume });
    for (const kind of ['kubernetes.io~projected/kube-api-access-x', 'kubernetes.io~configmap/config', 'kubernetes.io~secret/serving-cert']) {
      const volume = `${pod}/volumes/${kind}`;
      const stamp = `..2026_11_${String(1 + (p % 28)).padStart(2, '0')}_10_00_00.${String(Math.floor(random() * 1e9)).padStart(9, '0')}`;
      const keys = kind.includes('secret') ? ['tls.crt', 'tls.key'] : kind.includes('projected') ? ['ca.crt', 'namespace', 'token'] : ['config.yaml'];
      for (const key of keys) {
        await w.file(`${volume}/${stamp}/${key}`, key.endsWith('crt') || key.endsWith('key') ? pem(random) : config(random), { label: LABELS.volume, mode: 0o644 });
        await w.symlink(`..data/${key}`, `${volume}/${key}`, LABELS.volume);
      }
      await w.symlink(stamp, `${volume}/..data`, LABELS.volume);
    }
    if (p === 0) {
      await w.file(`${pod}/volumes/kubernetes.io~empty-dir/cache/blob`, randomBytes(4 * 1024 * 1024), { label: LABELS.volume });
      links.push([`${pod}/volumes/kubernetes.io~empty-dir/cache/blob`, `${pod}/volumes/kubernetes.io~empty-dir/cache/blob.link`]);
    }
  }
  await w.fifo('/var/lib/kubelet/device-plugins/kubelet.fifo', LABELS.kubelet);

  for (const [existing, link] of links) {
    await fs.link(path.join(root, existing), path.join(root, link));
  }

  // ----- outside the copied trees: what the MachineConfig lists, etcd's db, the boot id
  const extras = ['/var/lib/extra/config.yaml', '/opt/vendor/tool.conf', '/usr/lib/systemd/system/sno-tuning.service'];
  for (const file of extras) await w.file(file, config(random), { label: LABELS.etc });
  const missingExtra = '/var/lib/extra/not-there.conf';
  const managed = ['/etc/hostname', '/etc/kubernetes/kubelet.conf', '/usr/local/bin/node-tool', '/var/lib/kubelet/config.json', ...extras, missingExtra];
  await w.file('/etc/machine-config-daemon/currentconfig', `${JSON.stringify(machineConfig(managed))}\n`, { label: LABELS.etc, mode: 0o600 });
  await w.file('/var/lib/etcd/member/snap/db', randomBytes(512 * 1024), { mode: 0o600, label: LABELS.kubelet });
  await fs.mkdir(path.join(root, 'var/recovery'), { recursive: true, mode: 0o700 });
  const bootIdFile = path.join(root, 'proc/sys/kernel/random/boot_id');
  await fs.mkdir(path.dirname(bootIdFile), { recursive: true });
  const reboot = async () => {
    const id = uuid(prng(Date.now() ^ (options.seed ?? 1)));
    await fs.writeFile(bootIdFile, `${id}\n`);
    return id;
  };
  await reboot();

  await applyLabels(root, labels);
  await w.applyTimes();
  const deployments = await makeOstreeSysroot(root, random);
  return { root, extras, missingExtra, deployments, reboot };
}

/** An ostree sysroot with two deployments of `rhcos` (newest first), as the node has mid-upgrade. */
async function makeOstreeSysroot(root: string, random: () => number): Promise<string[]> {
  const sysroot = [`--sysroot=${root}`];
  await run('ostree', ['admin', 'init-fs', root]);
  await run('ostree', ['admin', 'os-init', 'rhcos', ...sysroot]);
  const tree = await fs.mkdtemp(path.join(path.dirname(root), '.ostree-tree-'));
  try {
    await fs.mkdir(path.join(tree, 'usr/lib/modules/5.14.0-284.el9.x86_64'), { recursive: true });
    await fs.mkdir(path.join(tree, 'usr/etc'), { recursive: true });
    await fs.writeFile(path.join(tree, 'usr/lib/modules/5.14.0-284.el9.x86_64/vmlinuz'), randomBytes(4096));
    await fs.writeFile(path.join(tree, 'usr/lib/modules/5.14.0-284.el9.x86_64/initramfs.img'), randomBytes(4096));
    await fs.writeFile(path.join(tree, 'usr/lib/os-release'), 'NAME="Red Hat Enterprise Linux CoreOS"\nID="rhcos"\n');
    await fs.symlink('../lib/os-release', path.join(tree, 'usr/etc/os-release'));
    const commits: string[] = [];
    for (const version of ['414.92.202311150000-0', '415.92.202402010000-0']) {
      await fs.writeFile(path.join(tree, 'usr/lib/build'), `${version} ${random()}\n`);
      const commit = await run('ostree', [`--repo=${root}/ostree/repo`, 'commit', '--branch=rhcos', `--subject=${version}`, `--add-metadata-string=version=${version}`, `--tree=dir=${tree}`]);
      await run('ostree', ['admin', 'deploy', '--os=rhcos', ...sysroot, commit.trim()]);
      commits.unshift(commit.trim());
    }
    return commits;
  } finally {
    await fs.rm(tree, { recursive: true, force: true });
  }
}

/** Removes a sandbox: ostree marks deployment dirs immutable, so clear that flag first. */
export async function removeSandbox(dir: string): Promise<void> {
  await execa('chattr', ['-R', '-f', '-i', dir], { reject: false });
  await fs.rm(dir, { recursive: true, force: true });
}

/** One setfattr call for every label (thousands of files), from a getfattr-style dump. */
async function applyLabels(root: string, labels: Array<[string, string]>): Promise<void> {
  const dump = labels.map(([file, label]) => `# file: ${escapeName(file.slice(1))}\nsecurity.selinux="${label}"\n`).join('\n');
  const dumpFile = path.join(path.dirname(root), `.labels-${process.pid}`);
  await fs.writeFile(dumpFile, `${dump}\n`, 'latin1');
  try {
    await run('setfattr', ['-h', `--restore=${dumpFile}`], root);
  } finally {
    await fs.rm(dumpFile, { force: true });
  }
}

/** getfattr's quoting: bytes outside printable ASCII, and backslash, as \ooo (input is latin1). */
function escapeName(name: string): string {
  return [...Buffer.from(name, 'latin1')].map((b) => (b <= 0x20 || b >= 0x7f || b === 0x5c ? `\\${b.toString(8).padStart(3, '0')}` : String.fromCharCode(b))).join('');
}

interface EntryOptions {
  mode?: number;
  uid?: number;
  gid?: number;
  label: string;
}

/** Writes entries under the root, remembering labels and mtimes to apply once everything exists. */
class TreeWriter {
  private readonly times: Array<[string, number]> = [];

  constructor(
    private readonly root: string,
    private readonly random: () => number,
    private readonly labels: Array<[string, string]>,
  ) {}

  async file(node: string, content: string | Buffer, options: EntryOptions & Partial<{ mode: number }>): Promise<void> {
    await this.parents(node, options.label);
    const abs = this.abs(node);
    await fs.writeFile(abs, content);
    await this.finish(node, { mode: 0o644, ...options });
  }

  /** Random content written in chunks, so a big file never sits in memory whole. */
  async bigFile(node: string, size: number, options: EntryOptions): Promise<void> {
    await this.parents(node, options.label);
    const handle = await fs.open(this.abs(node), 'w');
    try {
      for (let written = 0; written < size; ) {
        const chunk = randomBytes(Math.min(8 * 1024 * 1024, size - written));
        await handle.write(chunk);
        written += chunk.length;
      }
    } finally {
      await handle.close();
    }
    await this.finish(node, { mode: 0o644, ...options });
  }

  async dir(node: string, options: EntryOptions): Promise<void> {
    await this.parents(node, options.label);
    await fs.mkdir(this.abs(node), { recursive: true });
    await this.finish(node, { mode: 0o755, ...options });
  }

  async symlink(target: string, node: string, label: string): Promise<void> {
    await this.parents(node, label);
    await fs.symlink(target, this.abs(node));
    this.labels.push([node, label]);
    this.times.push([node, this.time()]);
  }

  async fifo(node: string, label: string): Promise<void> {
    await this.parents(node, label);
    await run('mkfifo', ['-m', '0620', this.abs(node)]);
    await this.finish(node, { label, mode: 0o620 });
  }

  async chardev(node: string, major: number, minor: number, label: string): Promise<void> {
    await this.parents(node, label);
    await run('mknod', ['-m', '0666', this.abs(node), 'c', String(major), String(minor)]);
    await this.finish(node, { label, mode: 0o666 });
  }

  /** A file with holes: data at a few offsets only. */
  async sparse(node: string, size: number, random: () => number, label: string): Promise<void> {
    await this.parents(node, label);
    const handle = await fs.open(this.abs(node), 'w');
    try {
      await handle.truncate(size);
      for (const fraction of [0, 0.37, 0.81]) await handle.write(randomBytes(8192), 0, 8192, Math.floor((size - 8192) * fraction * (0.9 + random() * 0.1)));
    } finally {
      await handle.close();
    }
    await this.finish(node, { label, mode: 0o644 });
  }

  async acl(node: string, args: string[]): Promise<void> {
    await run('setfacl', [...args, this.abs(node)]);
  }

  /** mtimes last (writing a child changes its dir's), each with a nanosecond-looking fraction. */
  async applyTimes(): Promise<void> {
    for (const [node, time] of this.times.reverse()) {
      await fs.lutimes(this.abs(node), time, time);
    }
  }

  private async parents(node: string, label: string): Promise<void> {
    const parts = path.dirname(node).split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const dir = `/${parts.slice(0, i).join('/')}`;
      try {
        await fs.mkdir(this.abs(dir));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw error;
      }
      this.labels.push([dir, label]);
      this.times.push([dir, this.time()]);
    }
  }

  private async finish(node: string, options: EntryOptions): Promise<void> {
    const abs = this.abs(node);
    if (options.uid !== undefined || options.gid !== undefined) await fs.lchown(abs, options.uid ?? 0, options.gid ?? 0);
    if (options.mode !== undefined) await fs.chmod(abs, options.mode);
    this.labels.push([node, options.label]);
    this.times.push([node, this.time()]);
  }

  private time(): number {
    // Within the last two years, with a sub-second part.
    return 1_700_000_000 + Math.floor(this.random() * 60_000_000) + Math.floor(this.random() * 1e6) / 1e6;
  }

  private abs(node: string): string {
    return path.join(this.root, node);
  }
}

/** What the node's etcd.env exports; the SANDBOX_ variables let cluster-restore.sh restart etcd. */
function etcdEnv(etcd: SandboxOptions['etcd']): string {
  const lines = ['ETCDCTL_API=3', `ETCDCTL_ENDPOINTS=${etcd?.endpoint ?? 'http://127.0.0.1:2379'}`, 'NODE_sno_1_IP=192.0.2.10'];
  if (etcd) lines.push(`SANDBOX_ETCD_DATA_DIR=${etcd.dataDir}`, `SANDBOX_ETCD_PIDFILE=${etcd.pidFile}`, `SANDBOX_ETCD_ARGS_FILE=${etcd.argsFile}`);
  return lines.map((l) => `export ${l}\n`).join('');
}

function machineConfig(paths: string[]) {
  return {
    apiVersion: 'machineconfiguration.openshift.io/v1',
    kind: 'MachineConfig',
    metadata: { name: 'rendered-master-5f0c1a9e3f6f4b1d' },
    spec: {
      config: {
        ignition: { version: '3.2.0' },
        storage: { files: paths.map((p) => ({ path: p, mode: 420, overwrite: true, contents: { source: 'data:,managed' } })) },
        systemd: { units: [{ name: 'kubelet.service', enabled: true }] },
      },
      osImageURL: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:0000',
    },
  };
}

function podManifest(resource: string, revision: number): string {
  return `${JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: resource, namespace: 'openshift', labels: { revision: String(revision) } } }, null, 1)}\n`;
}

function kubeconfig(): string {
  return 'apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://localhost:6443\n  name: localhost\n';
}

/** A kubelet certificate as on a node (client and server both name system:node:<name>), by default valid for a year. */
export function kubeletCertificate(notAfter = new Date(Date.now() + 365 * 86_400_000), nodeName = SANDBOX_NODE_NAME): string {
  const subject: Array<['O' | 'CN', string]> = [['O', 'system:nodes'], ['CN', `system:node:${nodeName}`]];
  return makeCertificatePem({ subject, notBefore: new Date(notAfter.getTime() - 395 * 86_400_000), notAfter });
}

function pem(random: () => number, kind = 'CERTIFICATE'): string {
  const body = Buffer.from(Array.from({ length: 600 + Math.floor(random() * 900) }, () => Math.floor(random() * 256))).toString('base64');
  return `-----BEGIN ${kind}-----\n${body.replace(/(.{64})/g, '$1\n')}\n-----END ${kind}-----\n`;
}

function config(random: () => number): string {
  const lines = 1 + Math.floor(random() * 30);
  return Array.from({ length: lines }, (_, i) => `key_${i}=${hex(random, 4 + Math.floor(random() * 24))}`).join('\n') + '\n';
}

function hex(random: () => number, bytes: number): string {
  return Array.from({ length: bytes }, () => Math.floor(random() * 256).toString(16).padStart(2, '0')).join('');
}

function uuid(random: () => number): string {
  const h = hex(random, 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** mulberry32: small, fast, deterministic. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function run(command: string, args: string[], cwd?: string): Promise<string> {
  const result = await execa(command, args, { reject: false, ...(cwd ? { cwd } : {}) });
  if (result.exitCode !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
  return result.stdout;
}
