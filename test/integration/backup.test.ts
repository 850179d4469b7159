// `backup` on a sandbox node with real parts: real files with labels, ACLs, holes and links; a real
// ostree sysroot; a real etcd snapshotted through the node's cluster-backup.sh. The proof is
// independent of our code: rsync finds nothing to change, etcd restores the snapshot with its keys,
// ostree reports the pinned deployment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { chmodSync, renameSync, rmSync, lstatSync, readFileSync, readdirSync, readlinkSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { runBackup, type BackupOptions } from '../../src/backup/runBackup.js';
import { verifyBackup } from '../../src/verify/verifyBackup.js';
import { RecordingReporter } from '../../src/core/reporter.js';
import { realHost } from '../../src/host/real.js';
import { readManifest } from '../../src/manifest/reader.js';
import type { ManifestEntry } from '../../src/manifest/schema.js';
import { keysInSnapshot } from '../../scripts/sandbox/etcd.js';
import { currentGeneration, manifestLinesDigest, ostreeDeployments, readSummary, rsyncDifferences } from '../support/backupChecks.js';
import { makeTestNode, type TestNode } from '../support/sandbox.js';

const TREES = [
  ['etc', '/etc'],
  ['local', '/usr/local'],
  ['kubelet', '/var/lib/kubelet'],
] as const;

function options(node: TestNode, extra: Partial<BackupOptions> = {}): BackupOptions {
  return { dir: node.backupDir, force: false, fresh: false, spaceMargin: 0, toolVersion: 'test', ...extra };
}

async function manifestEntries(file: string): Promise<ManifestEntry[]> {
  const entries: ManifestEntry[] = [];
  await readManifest(realHost('/').fs, file, (e) => void entries.push(e));
  return entries;
}

describe('backup of a sandbox node', () => {
  let node: TestNode;
  let reporter: RecordingReporter;
  let generation: string;

  beforeAll(async () => {
    node = await makeTestNode({ seed: 11 });
    reporter = new RecordingReporter();
    await runBackup(realHost(node.root), reporter, options(node));
    generation = currentGeneration(node.backupDir);
  });
  afterAll(() => node?.cleanup());

  it.each(TREES)('copies %s exactly (rsync -aAXHc finds nothing to change)', async (name, nodePath) => {
    expect(await rsyncDifferences(path.join(node.root, nodePath), path.join(node.backupDir, name))).toBe('');
  });

  it('keeps the old layout reachable under its old names', () => {
    for (const name of ['cluster', 'etc', 'local', 'kubelet', 'extras.tgz', 'etc.exclude.list']) {
      expect(readlinkSync(path.join(node.backupDir, name))).toBe(`current/${name}`);
      expect(lstatSync(path.join(generation, name))).toBeTruthy();
    }
  });

  it('keeps holes of sparse files and hard links as links', () => {
    const source = statSync(path.join(node.root, 'usr/local/share/disk.img'));
    const copy = statSync(path.join(node.backupDir, 'local/share/disk.img'));
    expect(copy.size).toBe(source.size);
    expect(copy.blocks).toBe(source.blocks);
    expect(copy.blocks * 512).toBeLessThan(copy.size / 10);
    const bundle = statSync(path.join(node.backupDir, 'etc/pki/tls/certs/ca-bundle.crt'));
    expect(bundle.nlink).toBe(2);
    expect(bundle.ino).toBe(statSync(path.join(node.backupDir, 'etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem')).ino);
  });

  it('records every kind of entry in the manifest, with labels, ACLs, modes and odd names', async () => {
    const entries = await manifestEntries(path.join(generation, 'manifests/etc.jsonl'));
    const byPath = new Map(entries.map((e) => [e.path ?? Buffer.from(e.pathB64!, 'base64').toString('latin1'), e]));
    expect(byPath.get('hostname')?.xattrs?.['security.selinux']).toBe(Buffer.from('system_u:object_r:etc_t:s0').toString('base64'));
    expect(byPath.get('NetworkManager/system-connections/br-ex.nmconnection')?.xattrs).toHaveProperty('system.posix_acl_access');
    expect(byPath.get('containers/registries.d')?.xattrs).toHaveProperty('system.posix_acl_default');
    expect(byPath.get('sticky-spool')?.mode).toBe(0o1777);
    expect(byPath.get('setgid-dir')).toMatchObject({ mode: 0o2775, gid: 994 });
    expect(byPath.get('shadow')?.mode).toBe(0);
    expect(byPath.get('os-release')).toMatchObject({ type: 'symlink', target: '../usr/lib/os-release' });
    expect(byPath.get('pki/tls/certs/ca-bundle.crt')).toMatchObject({ type: 'hardlink', linkTo: 'pki/ca-trust/extracted/pem/tls-ca-bundle.pem' });
    const odd = entries.find((e) => e.pathB64 !== undefined);
    expect(Buffer.from(odd!.pathB64!, 'base64')).toEqual(Buffer.from([0x77, 0x65, 0x69, 0x72, 0x64, 0x2f, 0x6e, 0xff, 0xfe, 0x2e, 0x63, 0x6f, 0x6e, 0x66]));
    const hashed = byPath.get('hostname')!;
    expect(hashed.sha256).toBe((await execa('sha256sum', [path.join(node.root, 'etc/hostname')])).stdout.split(' ')[0]);

    const local = await manifestEntries(path.join(generation, 'manifests/local.jsonl'));
    expect(local.find((e) => e.path === 'sbin/privileged-helper')?.mode).toBe(0o4755);
    expect(local.find((e) => e.path === 'share/control.fifo')?.type).toBe('fifo');
    expect(local.find((e) => e.path === 'share/null-device')).toMatchObject({ type: 'char', rdev: statSync('/dev/null').rdev });

    const kubelet = await manifestEntries(path.join(generation, 'manifests/kubelet.jsonl'));
    const dataLinks = kubelet.filter((e) => e.path?.endsWith('/..data'));
    expect(dataLinks.length).toBeGreaterThan(10);
    expect(dataLinks.every((e) => e.type === 'symlink' && e.target?.startsWith('..2026_'))).toBe(true);
  });

  it('takes a real etcd snapshot that restores to the keys written before', async () => {
    const summary = readSummary(node.backupDir);
    expect(summary.cluster.snapshot).toMatch(/^snapshot_\d{4}-\d\d-\d\d_\d{6}__POSSIBLY_DIRTY__\.db$/);
    expect(summary.cluster.staticResources).toMatch(/^static_kuberesources_.*__POSSIBLY_DIRTY__\.tar\.gz$/);
    expect(summary.cluster.status.totalKey).toBeGreaterThanOrEqual(Object.keys(node.keys).length);
    const restored = await keysInSnapshot(path.join(node.backupDir, 'cluster', summary.cluster.snapshot), path.join(node.work, 'restored'), '/kubernetes.io/test/');
    expect(restored).toEqual(node.keys);
    const tar = await execa('tar', ['tzf', path.join(node.backupDir, 'cluster', summary.cluster.staticResources)]);
    for (const dir of ['kube-apiserver-pod-9', 'kube-controller-manager-pod-7', 'kube-scheduler-pod-6', 'etcd-pod-4']) {
      expect(tar.stdout).toContain(`etc/kubernetes/static-pod-resources/${dir}/`);
    }
  });

  it('keeps only the first deployment and pins it, warning that none is marked booted', async () => {
    const status = await ostreeDeployments(node.root);
    expect(status.match(/^ {2}rhcos /gm)).toHaveLength(1);
    expect(status).toContain(node.deployments[0]);
    expect(status).toContain('Pinned: yes');
    expect(reporter.warnings().join('\n')).toContain('no deployment is marked booted');
    expect(readSummary(node.backupDir).ostree).toMatchObject({ checksum: node.deployments[0], removed: 1 });
  });

  it('archives the MachineConfig files outside the trees and reports the missing one', async () => {
    const listing = (await execa('tar', ['tzf', path.join(node.backupDir, 'extras.tgz')])).stdout.split('\n').sort();
    expect(listing).toEqual(node.extras.map((p) => p.slice(1)).sort());
    expect(reporter.warnings().join('\n')).toContain(node.missingExtra);
    expect(readSummary(node.backupDir).extras.missing).toEqual([node.missingExtra]);
  });

  it('writes etc.exclude.list from tmpfiles.d plus the fixed entries', () => {
    const list = readFileSync(path.join(node.backupDir, 'etc.exclude.list'), 'utf8').trim().split('\n');
    expect(list).toEqual(['iscsi', 'sno-runtime', 'pki/ca-trust/source/anchors/extra.pem', '.updated', 'kubernetes/manifests']);
  });

  it('verifies every byte, and finds a changed byte, a changed label and a missing file', async () => {
    const host = realHost(node.root);
    expect((await verifyBackup(host, new RecordingReporter(), node.backupDir, true)).ok).toBe(true);
    const work = path.join(node.work, 'damaged');
    await execa('cp', ['-a', node.backupDir, work]);
    const cert = readdirSync(path.join(work, 'etc/pki/tls/certs')).find((n) => n.startsWith('cert-'))!;
    const certFile = path.join(work, 'etc/pki/tls/certs', cert);
    const bytes = readFileSync(certFile);
    bytes[10] = bytes[10]! ^ 1;
    writeFileSync(certFile, bytes);
    // Same size and mtime: only the content check can see it (bit rot, a careless edit).
    await execa('touch', ['-h', '-r', path.join(node.backupDir, 'etc/pki/tls/certs', cert), certFile]);
    await execa('setfattr', ['-h', '-n', 'security.selinux', '-v', 'system_u:object_r:tmp_t:s0', path.join(work, 'etc/hostname')]);
    await execa('rm', [path.join(work, 'kubelet/config.json')]);
    writeFileSync(path.join(work, 'etc.exclude.list'), 'changed\n');
    const reporter = new RecordingReporter();
    const verdict = await verifyBackup(host, reporter, work, true);
    // Components are checked two at a time, and still reported one step after the other.
    const steps = reporter.events.filter((e) => e.type === 'stepStart' || e.type === 'stepEnd').map((e) => `${e.type} ${e.step}`);
    const names = verdict.components.map((c) => `verify-${c.name}`);
    expect(steps).toEqual(names.flatMap((n) => [`stepStart ${n}`, `stepEnd ${n}`]));
    const problems = verdict.components.flatMap((c) => c.problems.map((p) => `${c.name}/${p.path}: ${p.problem}`));
    expect(problems).toEqual(
      expect.arrayContaining([
        `etc/pki/tls/certs/${cert}: content differs from its SHA-256`,
        'etc/hostname: extended attributes changed',
        'kubelet/config.json: missing',
        'files/etc.exclude.list: size 8, expected ' + statSync(path.join(node.backupDir, 'etc.exclude.list')).size,
      ]),
    );
    expect(verdict.ok).toBe(false);
    // Without --data the content change is not seen, the rest is.
    const quick = await verifyBackup(host, new RecordingReporter(), work, false);
    expect(quick.components.flatMap((c) => c.problems.map((p) => p.path))).not.toContain(`pki/tls/certs/${cert}`);
  });

  it("tells a restore the digest of each manifest it read whole, none of a component it skips", async () => {
    const checked = new Map<string, string>();
    const verdict = await verifyBackup(realHost(node.root), new RecordingReporter(), node.backupDir, false, { skip: ['local'], onManifestChecked: (name, digest) => checked.set(name, digest) });
    expect(verdict.ok).toBe(true);
    const components = (readSummary(node.backupDir).components as Array<{ name: string; manifest: string }>).filter((c) => c.name !== 'local');
    expect([...checked.keys()].sort()).toEqual(components.map((c) => c.name).sort());
    for (const component of components) {
      expect(checked.get(component.name)).toBe(manifestLinesDigest(path.join(currentGeneration(node.backupDir), component.manifest)));
    }
  });

  it('replaces the previous backup only once the new one is complete, and removes the old generation', async () => {
    const before = currentGeneration(node.backupDir);
    writeFileSync(path.join(node.root, 'etc/hostname'), 'renamed-node\n');
    const result = await runBackup(realHost(node.root), new RecordingReporter(), options(node));
    expect(result.generation).not.toBe(before);
    expect(currentGeneration(node.backupDir)).toBe(result.generation);
    expect(readdirSync(path.join(node.backupDir, 'generations'))).toEqual([path.basename(result.generation)]);
    expect(readFileSync(path.join(node.backupDir, 'etc/hostname'), 'utf8')).toBe('renamed-node\n');
  });
});

describe('backup refuses or stops cleanly', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await makeTestNode({ seed: 12, smallFiles: 200, pods: 2, bigFileBytes: 1024 * 1024 });
  });
  afterAll(() => node?.cleanup());

  it('refuses while the old script has a restore under way, before touching anything', async () => {
    writeFileSync(path.join(node.backupDir, 'progress'), 'restore_files\n');
    try {
      await expect(runBackup(realHost(node.root), new RecordingReporter(), options(node))).rejects.toMatchObject({
        kind: 'precondition',
        next: 'upgrade-recovery restore --resume',
      });
      expect(await ostreeDeployments(node.root)).not.toContain('Pinned: yes');
    } finally {
      rmSync(path.join(node.backupDir, 'progress'));
    }
  });

  it('checks what it needs before the first change, listing every problem at once', async () => {
    const script = path.join(node.root, 'usr/local/bin/cluster-backup.sh');
    const kubelet = path.join(node.root, 'var/lib/kubelet');
    renameSync(kubelet, `${kubelet}.away`);
    chmodSync(script, 0o644);
    try {
      const error = await runBackup(realHost(node.root), new RecordingReporter(), options(node)).catch((e: unknown) => e);
      expect(error).toMatchObject({ kind: 'precondition' });
      expect((error as Error).message).toContain('/var/lib/kubelet is not a directory');
      expect((error as Error).message).toContain('/usr/local/bin/cluster-backup.sh is not executable');
      // Nothing changed: both deployments are still there, none pinned.
      expect((await ostreeDeployments(node.root)).match(/^ {2}rhcos /gm)).toHaveLength(2);
    } finally {
      renameSync(`${kubelet}.away`, kubelet);
      chmodSync(script, 0o755);
    }
  });

  it('refuses when the free space is short of the estimate plus the margin, and goes on with --force', async () => {
    await expect(runBackup(realHost(node.root), new RecordingReporter(), options(node, { spaceMargin: 2 ** 60 }))).rejects.toMatchObject({
      kind: 'precondition',
      message: expect.stringContaining('not enough free space'),
    });
    const reporter = new RecordingReporter();
    await runBackup(realHost(node.root), reporter, options(node, { spaceMargin: 2 ** 60, force: true }));
    expect(reporter.warnings().join('\n')).toContain('going on because of --force');
  });

  it('moves an old tool backup (plain directories) aside and replaces it by the new layout', async () => {
    const dir = path.join(node.work, 'old-layout');
    for (const sub of ['etc', 'local', 'kubelet', 'cluster']) mkdirSync(path.join(dir, sub), { recursive: true });
    writeFileSync(path.join(dir, 'etc/old-file'), 'from the old tool');
    await runBackup(realHost(node.root), new RecordingReporter(), options(node, { dir }));
    expect(readlinkSync(path.join(dir, 'etc'))).toBe('current/etc');
    expect(await rsyncDifferences(path.join(node.root, 'etc'), path.join(dir, 'etc'))).toBe('');
  });

  it('warns, and saves an empty extras.tgz, when the node has no MachineConfig file', async () => {
    const config = path.join(node.root, 'etc/machine-config-daemon/currentconfig');
    renameSync(config, `${config}.away`);
    try {
      const reporter = new RecordingReporter();
      await runBackup(realHost(node.root), reporter, options(node));
      expect(reporter.warnings().join('\n')).toContain('currentconfig is missing');
      expect((await execa('tar', ['tzf', path.join(node.backupDir, 'extras.tgz')])).stdout).toBe('');
    } finally {
      renameSync(`${config}.away`, config);
    }
  });

  it('fails with a clear message when the MachineConfig is not one, keeping the previous backup', async () => {
    const before = currentGeneration(node.backupDir);
    const config = path.join(node.root, 'etc/machine-config-daemon/currentconfig');
    const original = readFileSync(config);
    writeFileSync(config, JSON.stringify({ spec: { config: { storage: { files: [{ path: 'relative/path' }] } } } }));
    try {
      await expect(runBackup(realHost(node.root), new RecordingReporter(), options(node))).rejects.toMatchObject({
        message: expect.stringMatching(/currentconfig is not a MachineConfig: spec\.config\.storage\.files\.0\.path/),
      });
      expect(currentGeneration(node.backupDir)).toBe(before);
      expect((await verifyBackup(realHost(node.root), new RecordingReporter(), node.backupDir, true)).ok).toBe(true);
    } finally {
      writeFileSync(config, original);
    }
  });

  it('starts no further step once told to stop (launch on SIGTERM); the partial backup is kept and the next run resumes it', async () => {
    const before = currentGeneration(node.backupDir);
    const stop = new AbortController();
    const reporter = new RecordingReporter();
    const stepStart = reporter.stepStart.bind(reporter);
    reporter.stepStart = (step, title) => {
      stepStart(step, title);
      if (step === 'cluster') stop.abort();
    };
    await expect(runBackup(realHost(node.root), reporter, options(node, { fresh: true, stop: stop.signal }))).rejects.toThrow(/stopped before the \S+ step; the partial backup is kept/);
    expect(reporter.events.filter((e) => e.type === 'stepStart').map((e) => e.step).at(-1)).toBe('cluster');
    expect(currentGeneration(node.backupDir)).toBe(before);
    expect(readdirSync(path.join(node.backupDir, 'generations')).filter((n) => n.endsWith('.partial'))).toHaveLength(1);
    const next = await runBackup(realHost(node.root), new RecordingReporter(), options(node));
    expect(next.resumed).toBe(true);
    expect(currentGeneration(node.backupDir)).not.toBe(before);
  });
});

describe('a backup dir left by the old tool', () => {
  it('is named as such by verify and restore, with what to do instead', async () => {
    const { mkdtempSync } = await import('node:fs');
    const os = await import('node:os');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ur-old-layout-'));
    for (const sub of ['cluster', 'etc', 'local', 'kubelet']) mkdirSync(path.join(dir, sub));
    try {
      await expect(verifyBackup(realHost('/'), new RecordingReporter(), dir, false)).rejects.toMatchObject({
        kind: 'precondition',
        message: expect.stringContaining('taken by the old upgrade-recovery.sh'),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The restore plan of the node's /etc from `generation`; the live files it opens are put in `opened`. */
async function planEtcRestore(root: string, generation: string, opened: string[]) {
  opened.length = 0;
  const host = realHost(root);
  const sync = host.fs.sync;
  const openSync = ((file: Buffer | string, flags: string | number, mode?: number) => {
    opened.push(String(file));
    return sync.openSync(file, flags, mode);
  }) as typeof sync.openSync;
  host.fs = { ...host.fs, sync: { ...sync, openSync } };
  const { planTreeRestore } = await import('../../src/restore/treePlan.js');
  return planTreeRestore(host, {
    backupTree: path.join(generation, 'etc'),
    manifest: path.join(generation, 'manifests/etc.jsonl'),
    liveTree: path.join(root, 'etc'),
    excluded: ['kubernetes/manifests', '.updated'],
  });
}

// The identity index: entries unchanged since the backup are known without reading them.
describe('what a backup vouches for, and what a restore then reads', () => {
  let node: TestNode;
  let generation: string;
  const opened: string[] = [];
  const plan = () => planEtcRestore(node.root, generation, opened);

  beforeAll(async () => {
    node = await makeTestNode({ seed: 17, smallFiles: 300, pods: 2 });
    writeFileSync(path.join(node.root, 'etc/changed-during-backup.conf'), 'x');
    // What changed in the last 2 s before the copy is not vouched for; the rest of the node is older.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    writeFileSync(path.join(node.root, 'etc/changed-during-backup.conf'), 'y');
    await runBackup(realHost(node.root), new RecordingReporter(), options(node));
    generation = currentGeneration(node.backupDir);
  });
  afterAll(() => node?.cleanup());

  it('records the identity of entries unchanged since before the copy, and not of one changed just before', async () => {
    const entries = await manifestEntries(path.join(generation, 'manifests/etc.jsonl'));
    const recent = entries.find((e) => e.path === 'changed-during-backup.conf')!;
    expect(recent.identity).toBeUndefined();
    const passwd = entries.find((e) => e.path === 'passwd')!;
    const live = statSync(path.join(node.root, 'etc/passwd'), { bigint: true });
    expect(passwd.identity).toBe(`${live.dev}:${live.ino}:${live.ctimeNs}`);
    expect(entries.filter((e) => e.identity !== undefined).length).toBeGreaterThan(entries.length * 0.9);
  });

  it('plans a restore of the unchanged tree without opening a single live file', async () => {
    const unchanged = await plan();
    expect(unchanged.writes.length + unchanged.metadata.length + unchanged.removals.length).toBe(0);
    // Only the entry the backup could not vouch for is read.
    expect(opened.filter((p) => p.startsWith(path.join(node.root, 'etc')))).toEqual([path.join(node.root, 'etc/changed-during-backup.conf')]);
  });

  it('reads, and rewrites, a file changed behind the same size and mtime; reads but keeps one only chmod-ed back', async () => {
    const sneaky = path.join(node.root, 'etc/passwd');
    const bytes = readFileSync(sneaky);
    bytes[0] = bytes[0]! ^ 1;
    writeFileSync(sneaky, bytes);
    await execa('touch', ['-h', '-r', path.join(generation, 'etc/passwd'), sneaky]);
    const group = path.join(node.root, 'etc/sudoers');
    chmodSync(group, 0o600);
    chmodSync(group, statSync(path.join(generation, 'etc/sudoers')).mode & 0o7777);

    const changed = await plan();
    expect(changed.writes.map((w) => String(w.rel))).toEqual(['passwd']);
    expect(changed.metadata).toEqual([]);
    expect(opened.filter((p) => p.startsWith(path.join(node.root, 'etc'))).sort()).toEqual(
      [group, sneaky, path.join(node.root, 'etc/changed-during-backup.conf')].sort(),
    );
  });
});

// A node entry's identity is what lets a restore skip it. One changed after the size estimate walked
// the node and before its copy (the window a version that took the identities from that walk would
// open) must never be taken by a restore as unchanged: the copy holds the new bytes, and the live
// file must be read, kept while it holds them, and written back once it no longer does.
describe('an entry changed after the estimate and before its copy', () => {
  let node: TestNode;
  let generation: string;
  let original: Buffer;
  let changed: Buffer;
  const opened: string[] = [];
  const passwd = () => path.join(node.root, 'etc/passwd');
  /** The file's bytes replaced behind the same size and nanosecond mtime. */
  const replace = (bytes: Buffer) => {
    const mtimeOf = path.join(node.work, 'mtime-of-passwd');
    writeFileSync(mtimeOf, '');
    execFileSync('touch', ['-h', '-r', passwd(), mtimeOf]);
    writeFileSync(passwd(), bytes);
    execFileSync('touch', ['-h', '-r', mtimeOf, passwd()]);
  };
  const plan = () => planEtcRestore(node.root, generation, opened);

  beforeAll(async () => {
    node = await makeTestNode({ seed: 19, smallFiles: 100, pods: 1 });
    // Everything on the node older than the margin: only the change below may keep passwd unvouched.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    original = readFileSync(passwd());
    changed = Buffer.from(original);
    changed[0] = changed[0]! ^ 1;
    const host = realHost(node.root);
    const runner = host.runner;
    let done = false;
    host.runner = {
      run(command, args, runOptions) {
        // The first cp starts once the estimate has walked the node: the change goes in before any
        // copy (synchronously, so that no other cp starts before it).
        if (command === 'cp' && !done) {
          done = true;
          replace(changed);
        }
        return runner.run(command, args, runOptions);
      },
    };
    await runBackup(host, new RecordingReporter(), options(node));
    generation = currentGeneration(node.backupDir);
  });
  afterAll(() => node?.cleanup());

  it('copies the changed file, and records no identity the live file has', async () => {
    expect(readFileSync(path.join(generation, 'etc/passwd'))).toEqual(changed);
    const line = (await manifestEntries(path.join(generation, 'manifests/etc.jsonl'))).find((e) => e.path === 'passwd')!;
    const live = statSync(passwd(), { bigint: true });
    expect(line.identity).not.toBe(`${live.dev}:${live.ino}:${live.ctimeNs}`);
  });

  it('has the restore read the file, and keep it while it holds what the backup holds', async () => {
    const same = await plan();
    expect(opened).toContain(passwd());
    expect(same.writes.map((w) => String(w.rel))).not.toContain('passwd');
  });

  it('has the restore write it back once it holds its old bytes again, behind the same size and mtime', async () => {
    replace(original);
    const back = await plan();
    expect(back.writes.map((w) => String(w.rel))).toContain('passwd');
  });
});
