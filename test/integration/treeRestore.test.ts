// Restore of one tree from a backup, on real directories as root. The trees of a sandbox node
// (labels, ACLs, hard links, holes, devices, a fifo, odd names) are put side by side in one tree,
// copied as the backup with its manifest, and the live copy is then changed in every way a node
// can drift. The proof is independent of our code: rsync -aAXHc with the excluded paths finds
// nothing to change; our own verifyTreeAgainstManifest agrees; a second plan finds nothing to do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { build } from 'esbuild';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createSandboxNode, removeSandbox } from '../../scripts/sandbox/sandboxNode.js';
import { GenerationPaths } from '../../src/backup/layout.js';
import { writeTreeManifest } from '../../src/backup/treeManifest.js';
import { RecordingReporter } from '../../src/core/reporter.js';
import type { Host, RunOptions } from '../../src/host/ports.js';
import { realHost } from '../../src/host/real.js';
import { verifyTreeAgainstManifest } from '../../src/manifest/verifyTree.js';
import { applyTreeRestore } from '../../src/restore/treeApply.js';
import { Stager } from '../../src/restore/treeStager.js';
import { describePlan, isEmptyPlan, planTreeRestore, type TreePlanInput } from '../../src/restore/treePlan.js';
import { metadataPasses, removeEntries, replaceEntries } from '../../src/restore/treeReplace.js';
import { Staging, STAGING_NAME } from '../../src/restore/treeStaging.js';
import { rsyncDifferences } from '../support/backupChecks.js';

const host = realHost('/');
const EXCLUDED = ['etc/kubernetes/manifests', 'etc/.updated', 'etc/sno-runtime'];
const ODD_NAME = Buffer.from([0x6e, 0xff, 0xfe, 0x2e, 0x63, 0x6f, 0x6e, 0x66]); // n\xff\xfe.conf, as the sandbox makes it
const NEW_ODD_NAME = Buffer.from([0xfe, 0xfd, 0x2d, 0x6e, 0x65, 0x77]);

let work: string;
let pristine: string;
let backupTree: string;
let manifest: string;

/** What rsync would change in `live` to match `backup`, the excluded paths left out: '' when identical. */
async function oracle(backup: string, live: string, excluded: readonly string[] = EXCLUDED): Promise<string> {
  const run = await execa('rsync', ['-aAXHc', '--modify-window=-1', '--dry-run', '--itemize-changes', '--delete', ...excluded.map((p) => `--exclude=/${p}`), `${backup}/`, `${live}/`], {
    reject: false,
  });
  if (run.exitCode !== 0) throw new Error(`rsync failed: ${run.stderr}`);
  return run.stdout.trim();
}

/** A live tree identical to the backup, to be changed by the test. */
async function freshLive(name: string): Promise<string> {
  const live = path.join(work, name, 'live');
  mkdirSync(path.dirname(live), { recursive: true });
  await execa('cp', ['-a', pristine, live]);
  return live;
}

function input(live: string, backup = backupTree, excluded = EXCLUDED): TreePlanInput {
  return { backupTree: backup, manifest, liveTree: live, excluded };
}

/** The tree of this file's backup restored into `live`, as a restore step does it. */
async function restore(live: string, backup = backupTree, on: Host = host) {
  return restoreAsStep(on, input(live, backup));
}

/**
 * As the restore step does it (src/restore/restoreTreeStep.ts): each write staged as soon as the plan
 * decides it, with its manifest entry as the plan read it.
 */
async function restoreAsStep(on: Host, treeInput: TreePlanInput) {
  const reporter = new RecordingReporter();
  const stager = new Stager(on, treeInput, reporter, 'tree');
  let plan;
  try {
    plan = await planTreeRestore(on, treeInput, undefined, (write, recorded) => stager.add(write, recorded), { xattrsInMetadataPass: true });
  } catch (error) {
    await stager.abort(error);
    throw error;
  }
  const result = await applyTreeRestore(on, treeInput, plan, reporter, 'tree', stager);
  return { plan, result, reporter };
}

async function problemsOutsideExcluded(live: string, excluded = EXCLUDED): Promise<string[]> {
  const check = await verifyTreeAgainstManifest(host, live, manifest, { data: true });
  expect(check.moreProblems).toBe(0);
  return check.problems.map((p) => `${p.path}: ${p.problem}`).filter((p) => !excluded.some((e) => p.startsWith(`${e}:`) || p.startsWith(`${e}/`)));
}

const sh = (command: string, ...args: string[]) => execa(command, args);

/** A host whose runner notes each command it runs as `note` names it (undefined: not noted). */
function recordingHost(note: (command: string, options?: RunOptions) => string | undefined): { on: Host; commands: string[] } {
  const commands: string[] = [];
  const on: Host = {
    ...host,
    runner: {
      run(command, args, options) {
        const noted = note(command, options);
        if (noted !== undefined) commands.push(noted);
        return host.runner.run(command, args, options);
      },
    },
  };
  return { on, commands };
}

/** tar and rsync, the commands that write a tree's entries or set their metadata, by name. */
const copyingCommand = (command: string) => (command === 'tar' || command === 'rsync' ? command : undefined);

/** Changes the live tree in every way a node drifts from its backup. */
async function drift(live: string): Promise<{ firstConf: string; secondConf: string }> {
  const at = (rel: string) => path.join(live, rel);
  const inBackup = (rel: string) => path.join(backupTree, rel);
  // Content changed behind the same size and mtime: only a hash sees it.
  writeFileSync(at('etc/hostname'), readFileSync(at('etc/hostname'), 'utf8').replace('sno-1', 'sno-2'));
  await sh('touch', '-r', inBackup('etc/hostname'), at('etc/hostname'));
  writeFileSync(at('etc/passwd'), 'intruder:x:0:0::/:/bin/sh\n', { flag: 'a' });
  writeFileSync(at('etc/weird/tab\tand newline\nname'), 'a name that a newline-separated list would split\n');
  // Added: a file, a dir tree, a symlink, an odd name.
  writeFileSync(at('etc/new-file'), 'new\n');
  mkdirSync(at('etc/new-dir/sub'), { recursive: true });
  writeFileSync(at('etc/new-dir/sub/file'), 'deep\n');
  await sh('ln', '-s', 'node-tool', at('local/bin/new-link'));
  writeFileSync(Buffer.concat([Buffer.from(at('etc/weird/')), NEW_ODD_NAME]), 'another odd name\n');
  // Deleted: a file, a directory, an odd name.
  rmSync(at('etc/sudoers'));
  const pods = readdirSync(at('kubelet/pods')).sort();
  rmSync(at(`kubelet/pods/${pods[0]}/volumes/kubernetes.io~configmap`), { recursive: true });
  rmSync(Buffer.concat([Buffer.from(at('etc/weird/')), ODD_NAME]));
  // A file became a directory, a directory a file.
  rmSync(at('etc/tmpfiles.d/iscsi.conf'));
  mkdirSync(at('etc/tmpfiles.d/iscsi.conf'));
  writeFileSync(at('etc/tmpfiles.d/iscsi.conf/inside'), 'x\n');
  rmSync(at('etc/setgid-dir'), { recursive: true });
  writeFileSync(at('etc/setgid-dir'), 'now a file\n');
  // Modes (setuid dropped and added, a sticky dir), owner, mtimes of a file, a symlink and a dir.
  await sh('chmod', '0755', at('local/sbin/privileged-helper'));
  const [firstConf, secondConf, thirdConf] = readdirSync(at('etc/systemd/system')).sort() as [string, string, string];
  await sh('chmod', '4755', at(`etc/systemd/system/${thirdConf}`));
  await sh('chmod', '0755', at('etc/sticky-spool'));
  await sh('chown', '123:456', at('etc/shadow'));
  await sh('touch', '-d', '2020-01-02 03:04:05.123456789', at('etc/kubernetes/kubelet.conf'));
  await sh('touch', '-h', '-d', '2020-01-02', at('etc/os-release'));
  await sh('touch', '-d', '2021-05-06', at('etc/pki'));
  // A label, an extra xattr, an ACL entry, a default ACL gone.
  const conf = readdirSync(at('etc/sysconfig')).sort()[0]!;
  await sh('setfattr', '-n', 'security.selinux', '-v', 'system_u:object_r:tmp_t:s0', at(`etc/sysconfig/${conf}`));
  await sh('setfattr', '-n', 'user.extra', '-v', 'added', at('local/share/doc/README'));
  await sh('setfacl', '-m', 'u:1234:rwx', at('etc/NetworkManager/system-connections/br-ex.nmconnection'));
  await sh('setfacl', '-k', at('etc/containers/registries.d'));
  // Hard links: one broken (same content and metadata, another inode), one made where there was
  // none, and one name of a group missing.
  await sh('cp', '-a', at('etc/pki/tls/certs/ca-bundle.crt'), at('etc/pki/tls/certs/ca-bundle.crt.tmp'));
  await sh('mv', at('etc/pki/tls/certs/ca-bundle.crt.tmp'), at('etc/pki/tls/certs/ca-bundle.crt'));
  await sh('ln', '-f', at(`etc/systemd/system/${firstConf}`), at(`etc/systemd/system/${secondConf}`));
  const blobPod = pods.find((p) => existsSync(at(`kubelet/pods/${p}/volumes/kubernetes.io~empty-dir`)))!;
  rmSync(at(`kubelet/pods/${blobPod}/volumes/kubernetes.io~empty-dir/cache/blob.link`));
  // A symlink retargeted, a sparse file's hole filled (same size, same mtime).
  rmSync(at('local/bin/nt'));
  await sh('ln', '-s', 'other-tool', at('local/bin/nt'));
  const fd = openSync(at('local/share/disk.img'), 'r+');
  writeSync(fd, Buffer.alloc(64 * 1024, 0xab), 0, 64 * 1024, 5 * 1024 * 1024);
  closeSync(fd);
  await sh('touch', '-r', inBackup('local/share/disk.img'), at('local/share/disk.img'));
  // A fifo became a file; a device got another number.
  rmSync(at('local/share/control.fifo'));
  writeFileSync(at('local/share/control.fifo'), 'not a fifo\n');
  rmSync(at('local/share/null-device'));
  await sh('mknod', '-m', '0666', at('local/share/null-device'), 'c', '1', '5');
  // Excluded paths: changed where the backup has them, added where it does not. They must stay.
  writeFileSync(at('etc/kubernetes/manifests/kube-apiserver-pod.yaml'), 'changed live, kept\n');
  writeFileSync(at('etc/kubernetes/manifests/new-pod.yaml'), 'added live, kept\n');
  writeFileSync(at('etc/.updated'), 'TIMESTAMP=1\n');
  mkdirSync(at('etc/sno-runtime'));
  writeFileSync(at('etc/sno-runtime/state'), 'runtime\n');
  return { firstConf, secondConf };
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'ur-tree-'));
  const node = await createSandboxNode(path.join(work, 'node'), { seed: 21, smallFiles: 300, pods: 3, bigFileBytes: 2 * 1024 * 1024, sparseBytes: 16 * 1024 * 1024 });
  // One tree holding all three of the node's, so that one restore meets every kind of entry.
  pristine = path.join(work, 'pristine');
  mkdirSync(pristine);
  for (const [name, nodePath] of [['etc', 'etc'], ['local', 'usr/local'], ['kubelet', 'var/lib/kubelet']] as const) {
    // The trailing slash follows /usr/local's link to /var/usrlocal, as on RHCOS.
    await execa('cp', ['-a', '-T', `${path.join(node.root, nodePath)}/`, path.join(pristine, name)]);
  }
  const generation = new GenerationPaths(path.join(work, 'generation'));
  mkdirSync(generation.manifests, { recursive: true });
  backupTree = generation.tree('tree');
  manifest = generation.manifest('tree');
  await execa('cp', ['-a', pristine, backupTree]);
  await writeTreeManifest(host, new RecordingReporter(), generation, 'tree', pristine, { entries: 0, files: 0, bytes: 0, allocated: 0 });
});
afterAll(async () => {
  if (work) await removeSandbox(work);
});

describe('restore of a tree from its backup', () => {
  it('makes a drifted tree identical to the backup, leaving excluded paths exactly alone', async () => {
    const live = await freshLive('drift');
    const { firstConf, secondConf } = await drift(live);
    const keptInode = statSync(path.join(live, 'etc/kubernetes/manifests/kube-apiserver-pod.yaml')).ino;
    expect(await oracle(backupTree, live)).not.toBe('');

    const { plan, result, reporter } = await restore(live);

    expect(await oracle(backupTree, live)).toBe('');
    // A label and an extra xattr changed nothing lstat shows (an ACL entry moves the mode's group
    // bits): the plan left them to the metadata pass, unread, and that pass put the backup's back.
    const unread = plan.xattrsToCompare.map((rel) => rel.toString());
    const conf = readdirSync(path.join(backupTree, 'etc/sysconfig')).sort()[0]!;
    for (const rel of [`etc/sysconfig/${conf}`, 'local/share/doc/README']) {
      expect(unread).toContain(rel);
      expect(plan.metadata.map((m) => m.toString())).not.toContain(rel);
    }
    expect(await problemsOutsideExcluded(live)).toEqual([]);
    expect(isEmptyPlan(await planTreeRestore(host, input(live)))).toBe(true);
    expect(existsSync(path.join(live, STAGING_NAME))).toBe(false);
    // Excluded paths kept their live state, not even rewritten.
    expect(readFileSync(path.join(live, 'etc/kubernetes/manifests/kube-apiserver-pod.yaml'), 'utf8')).toBe('changed live, kept\n');
    expect(statSync(path.join(live, 'etc/kubernetes/manifests/kube-apiserver-pod.yaml')).ino).toBe(keptInode);
    expect(readFileSync(path.join(live, 'etc/kubernetes/manifests/new-pod.yaml'), 'utf8')).toBe('added live, kept\n');
    expect(readFileSync(path.join(live, 'etc/.updated'), 'utf8')).toBe('TIMESTAMP=1\n');
    expect(readFileSync(path.join(live, 'etc/sno-runtime/state'), 'utf8')).toBe('runtime\n');
    // Holes and links as in the backup.
    const disk = statSync(path.join(live, 'local/share/disk.img'));
    expect(disk.blocks * 512).toBeLessThan(disk.size / 10);
    expect(statSync(path.join(live, 'etc/pki/tls/certs/ca-bundle.crt')).ino).toBe(statSync(path.join(live, 'etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem')).ino);
    expect(statSync(path.join(live, `etc/systemd/system/${firstConf}`)).nlink).toBe(1);
    expect(statSync(path.join(live, `etc/systemd/system/${secondConf}`)).nlink).toBe(1);
    expect(lstatSync(path.join(live, 'local/share/control.fifo')).isFIFO()).toBe(true);
    // Counts and progress.
    expect(result.written).toBe(plan.writes.length);
    expect(result.removed).toBe(plan.removals.length);
    expect(result.copiedInPlace).toBe(0);
    const copies = reporter.events.filter((e) => e.type === 'progress' && e.activity === 'copy');
    expect(copies.at(-1)).toMatchObject({ component: 'tree', files: copies.at(-1)!.totalFiles, bytes: plan.bytes });
  });

  it('sets the metadata of entries nothing else changes early, and of directories once nothing changes inside them', async () => {
    const live = await freshLive('passes');
    await drift(live);
    const plan = await planTreeRestore(host, input(live), undefined, undefined, { xattrsInMetadataPass: true });
    const { early, late } = metadataPasses(host, input(live), plan);
    const names = (rels: Buffer[]) => rels.map((rel) => rel.toString('latin1'));
    const conf = readdirSync(path.join(backupTree, 'etc/sysconfig')).sort()[0]!;
    // A mode, an owner, a symlink's time, a label: set while the staged files are put in place.
    for (const rel of ['local/sbin/privileged-helper', 'etc/shadow', 'etc/os-release', `etc/sysconfig/${conf}`]) expect(names(early)).toContain(rel);
    for (const rel of names(early)) expect(lstatSync(path.join(live, rel)).isDirectory()).toBe(false);
    // A directory's own mode or time, a directory whose entries change, the root: last.
    for (const rel of ['.', 'etc/sticky-spool', 'etc/pki', 'etc/weird', 'etc/systemd/system']) expect(names(late)).toContain(rel);
    expect(names(late).filter((rel) => names(early).includes(rel))).toEqual([]);
    expect(early.length + late.length).toBe(new Set(names([...plan.metadata, ...plan.xattrsToCompare, ...plan.touchedDirs, Buffer.from('.')])).size);
  });

  it("sets the directories' owners, modes, times, labels and ACLs through tar, and through rsync where a live one has an xattr to take away", async () => {
    // A tree of its own, restored in place: its entries keep the identities the manifest recorded,
    // so only the directories changed below come to the metadata passes.
    const tree = path.join(work, 'dirs-live');
    const at = (rel: string) => path.join(tree, rel);
    const atBytes = (rel: Buffer) => Buffer.concat([Buffer.from(`${tree}/`), rel]);
    const oddDir = Buffer.concat([Buffer.from('odd-'), ODD_NAME]);
    for (const rel of ['sticky', 'setgid', 'labelled', 'acl', 'passing/inner']) mkdirSync(at(rel), { recursive: true });
    mkdirSync(atBytes(oddDir));
    writeFileSync(at('passing/inner/file'), 'kept\n');
    await sh('chmod', '1777', at('sticky'));
    await sh('chmod', '2750', at('setgid'));
    await sh('setfattr', '-n', 'security.selinux', '-v', 'system_u:object_r:etc_t:s0', at('labelled'));
    await sh('setfacl', '-d', '-m', 'u:123:rwx', at('acl'));
    await sh('touch', '-d', '2019-01-02 03:04:05.987654321', at('passing'));
    const generation = new GenerationPaths(path.join(work, 'dirs-generation'));
    mkdirSync(generation.manifests, { recursive: true });
    await execa('cp', ['-a', tree, generation.tree('dirs')]);
    // The node's identities recorded (the copy's start set past the margin for changes made just
    // before it, instead of waiting it out).
    const copySource = { dir: tree, startedAt: new Date(Date.now() + 3000) };
    await writeTreeManifest(host, new RecordingReporter(), generation, 'dirs', tree, { entries: 0, files: 0, bytes: 0, allocated: 0 }, copySource);
    const dirsInput: TreePlanInput = { backupTree: generation.tree('dirs'), manifest: generation.manifest('dirs'), liveTree: tree, excluded: [] };
    const drift = async () => {
      await sh('chmod', '0700', at('sticky'));
      await sh('chmod', 'g-s', at('setgid'));
      await sh('chown', '321:654', at('passing'));
      await sh('setfattr', '-n', 'security.selinux', '-v', 'system_u:object_r:tmp_t:s0', at('labelled'));
      await sh('setfacl', '-k', at('acl'));
      // Added and removed again: the directories' mtimes move, their content ends as it was.
      writeFileSync(at('passing/inner/passing-by'), 'x');
      rmSync(at('passing/inner/passing-by'));
      writeFileSync(atBytes(Buffer.concat([oddDir, Buffer.from('/x')])), 'x');
      rmSync(atBytes(Buffer.concat([oddDir, Buffer.from('/x')])));
    };
    const restoreCommands = async () => {
      const { on, commands } = recordingHost(copyingCommand);
      const plan = await planTreeRestore(on, dirsInput, undefined, undefined, { xattrsInMetadataPass: true });
      expect(plan.writes).toEqual([]);
      await applyTreeRestore(on, dirsInput, plan, new RecordingReporter(), 'dirs');
      return commands;
    };

    await drift();
    expect((await oracle(generation.tree('dirs'), tree, [])).split('\n')).toHaveLength(7);
    expect(await restoreCommands()).toEqual(['tar']);
    expect(await oracle(generation.tree('dirs'), tree, [])).toBe('');

    // An xattr the backup's directory does not have: tar would leave it, rsync takes it away.
    await drift();
    await sh('setfattr', '-n', 'user.extra', '-v', 'added', at('passing'));
    expect(await restoreCommands()).toEqual(['rsync']);
    expect(await oracle(generation.tree('dirs'), tree, [])).toBe('');
    expect((await sh('getfattr', '-d', '-m', '-', at('passing'))).stdout).not.toContain('user.extra');
  });

  it('describes what it would change, excluded paths never mentioned', async () => {
    const live = await freshLive('describe');
    const { firstConf, secondConf } = await drift(live);
    const before = path.join(work, 'describe', 'before');
    await execa('cp', ['-a', live, before]);
    const plan = await planTreeRestore(host, input(live));
    const text = describePlan(plan, 1000).join('\n');
    // Planning reads and changes nothing.
    expect(await rsyncDifferences(before, live)).toBe('');

    for (const line of [
      'etc/hostname (content changed)',
      'etc/passwd (content changed (size))',
      'etc/weird/tab\tand newline\nname (content changed (size))',
      'etc/sudoers (missing)',
      'etc/weird/n\\xff\\xfe.conf (missing)',
      'etc/tmpfiles.d/iscsi.conf (is a dir, the backup has a file)',
      'etc/pki/tls/certs/ca-bundle.crt (hard links restored)',
      'etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem (hard links restored)',
      `etc/systemd/system/${firstConf} (hard-linked to another file)`,
      `etc/systemd/system/${secondConf} (content changed (size))`,
      'local/bin/nt (symlink target changed)',
      'local/share/disk.img (content changed)',
      'local/share/control.fifo (is a file, the backup has a fifo)',
      'local/share/null-device (device number changed)',
      'etc/setgid-dir (is a file, the backup has a dir)',
    ]) {
      expect(text).toContain(`  ${line}`);
    }
    expect(text).toMatch(/kubernetes\.io~empty-dir\/cache\/blob \(hard links restored\)/);
    expect(text).toMatch(/kubernetes\.io~empty-dir\/cache\/blob\.link \(missing\)/);
    const deletions = examples(text, /to delete/);
    for (const rel of ['etc/new-file', 'etc/new-dir', 'local/bin/new-link', 'etc/weird/\\xfe\\xfd-new']) expect(deletions).toContain(rel);
    expect(deletions).not.toContain('etc/new-dir/sub');
    const metadata = examples(text, /labels or ACLs to fix/);
    // A plan only shown reads xattrs: a label change alone is listed as such, not left to compare.
    for (const rel of ['etc/shadow', 'local/sbin/privileged-helper', 'etc/sticky-spool', 'etc/kubernetes/kubelet.conf', 'etc/os-release', 'etc/pki', 'local/share/doc/README', 'etc/NetworkManager/system-connections/br-ex.nmconnection', 'etc/containers/registries.d']) {
      expect(metadata).toContain(rel);
    }
    expect(plan.xattrsToCompare).toEqual([]);
    expect(text).not.toMatch(/kubernetes\/manifests|sno-runtime|\.updated/);
    // The limit keeps it short.
    const short = describePlan(plan, 2);
    expect(short.some((l) => /^ {2}\.\.\. and \d+ more$/.test(l))).toBe(true);
    expect(describePlan(await planTreeRestore(host, input(await freshLive('same'))))).toEqual(['nothing to change']);
  });

  it('refuses a damaged backup before any change to the live tree', async () => {
    const live = await freshLive('damaged');
    await drift(live);
    const damaged = path.join(work, 'damaged', 'backup');
    await execa('cp', ['-a', backupTree, damaged]);
    // A byte flipped in a file the restore will write, size and mtime kept: only the hash sees it.
    const passwd = path.join(damaged, 'etc/passwd');
    const bytes = readFileSync(passwd);
    bytes[3] = bytes[3]! ^ 1;
    writeFileSync(passwd, bytes);
    await sh('touch', '-r', path.join(backupTree, 'etc/passwd'), passwd);
    const before = path.join(work, 'damaged', 'before');
    await execa('cp', ['-a', live, before]);

    await expect(restore(live, damaged)).rejects.toMatchObject({
      kind: 'failure',
      message: `the backup copy of ${passwd} does not match its manifest: the backup is damaged`,
    });
    expect(await rsyncDifferences(before, live)).toBe('');
    expect(existsSync(path.join(live, STAGING_NAME))).toBe(false);
  });

  it('stops before a copy damaged on its way to the staging dir replaces the live file', async () => {
    const live = await freshLive('staged-damage');
    await drift(live);
    const before = path.join(work, 'staged-damage', 'before');
    await execa('cp', ['-a', live, before]);
    // A runner whose staging copy comes out with one byte changed (bad RAM, a failing disk).
    const damaging: Host = {
      ...host,
      runner: {
        async run(command, args, options) {
          const result = await host.runner.run(command, args, options);
          // The tar that stages the entries (under their index in the plan): etc/passwd's copy is
          // the one with its bytes.
          const dir = args[args.indexOf('-C') + 1];
          if (command === 'tar' && dir?.includes(STAGING_NAME)) {
            const passwd = readFileSync(path.join(backupTree, 'etc/passwd'));
            const staged = readdirSync(dir).map((name) => path.join(dir, name)).find((file) => readFileSync(file).equals(passwd))!;
            const bytes = readFileSync(staged);
            bytes[0] = bytes[0]! ^ 1;
            writeFileSync(staged, bytes);
          }
          return result;
        },
      },
    };
    await expect(restore(live, backupTree, damaging)).rejects.toMatchObject({
      kind: 'failure',
      message: `the backup copy of ${backupTree}/etc/passwd does not match its manifest (as copied for the restore): the backup is damaged`,
    });
    expect(await rsyncDifferences(before, live)).toBe('');
    expect(existsSync(path.join(live, STAGING_NAME))).toBe(false);
  });

  // 3 MiB goes through the archive into tar, 9 MiB through cp (src/restore/treeStageCopy.ts).
  it.each([3, 9])('stops with a clear error when the staging does not fit (a %i MiB file), the live tree as it was', async (mib) => {
    const tiny = path.join(work, `tiny-${mib}`);
    mkdirSync(tiny);
    await sh('mount', '-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', tiny);
    try {
      const live = path.join(tiny, 'live');
      await execa('cp', ['-a', path.join(pristine, 'etc'), live]);
      // The backup of this tree holds a big file the live tree lacks.
      const generation = new GenerationPaths(path.join(work, `tiny-generation-${mib}`));
      mkdirSync(generation.manifests, { recursive: true });
      await execa('cp', ['-a', live, generation.tree('etc')]);
      await sh('dd', 'if=/dev/urandom', `of=${generation.tree('etc')}/big.bin`, 'bs=1M', `count=${mib}`, 'status=none');
      await writeTreeManifest(host, new RecordingReporter(), generation, 'etc', live, { entries: 0, files: 0, bytes: 0, allocated: 0 });
      writeFileSync(path.join(live, 'hostname'), 'drifted\n');
      const before = path.join(work, `tiny-before-${mib}`);
      await execa('cp', ['-a', live, before]);
      const tinyInput = { backupTree: generation.tree('etc'), manifest: generation.manifest('etc'), liveTree: live, excluded: [] };
      const plan = await planTreeRestore(host, tinyInput);
      expect(plan.bytes).toBeGreaterThan(mib * 1024 * 1024);

      const error = await applyTreeRestore(host, tinyInput, plan, new RecordingReporter(), 'etc').catch((e: unknown) => e);
      expect(error).toMatchObject({ kind: 'failure', message: `cannot stage the restore of etc in ${live}: No space left on device` });
      expect(await rsyncDifferences(before, live)).toBe('');
      expect(existsSync(path.join(live, STAGING_NAME))).toBe(false);
    } finally {
      await execa('umount', [tiny], { reject: false });
    }
  });

  it('copies into place what lies on another mount, where a rename cannot go', async () => {
    const live = await freshLive('mounts');
    const mountPoint = path.join(live, 'etc/systemd/system');
    // The mount hides the directory's files: the restore has to bring them all across the mount.
    await sh('mount', '-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint);
    try {
      const { result } = await restore(live);
      expect(result.copiedInPlace).toBeGreaterThan(10);
      expect(await oracle(backupTree, live)).toBe('');
      expect(await problemsOutsideExcluded(live)).toEqual([]);
    } finally {
      await execa('umount', [mountPoint], { reject: false });
    }
  });

  it('brings back a tree deleted altogether', async () => {
    const live = await freshLive('deleted');
    rmSync(live, { recursive: true });
    await restore(live);
    expect(await oracle(backupTree, live)).toBe('');
    expect(await problemsOutsideExcluded(live)).toEqual([]);
  });

  it('keeps a directory that holds an excluded path where the backup has a file or nothing, emptying the rest', async () => {
    const live = await freshLive('blocked');
    const excluded = [...EXCLUDED, 'etc/hostname/keep', 'etc/extra/keep'];
    rmSync(path.join(live, 'etc/hostname'));
    for (const dir of ['etc/hostname', 'etc/extra']) {
      mkdirSync(path.join(live, dir));
      writeFileSync(path.join(live, dir, 'keep'), 'excluded\n');
      writeFileSync(path.join(live, dir, 'other'), 'not excluded\n');
    }
    const reporter = new RecordingReporter();
    const plan = await planTreeRestore(host, input(live, backupTree, excluded));
    expect(plan.blocked.map(String)).toEqual(['etc/extra', 'etc/hostname']);
    expect(describePlan(plan).join('\n')).toContain('2 entries left unlike the backup because an excluded path is inside:\n  etc/extra\n  etc/hostname');
    await applyTreeRestore(host, input(live, backupTree, excluded), plan, reporter, 'tree');

    expect(reporter.warnings()).toEqual([expect.stringContaining('2 entries of tree left unlike the backup because an excluded path is inside')]);
    expect(readdirSync(path.join(live, 'etc/hostname'))).toEqual(['keep']);
    expect(readdirSync(path.join(live, 'etc/extra'))).toEqual(['keep']);
    expect(await problemsOutsideExcluded(live, excluded)).toEqual(['etc/extra: not in the manifest', 'etc/hostname: is a dir, expected a file']);
  });

  it('converges after an apply stopped part-way, its leftovers cleaned first', async () => {
    const live = await freshLive('halfway');
    await drift(live);
    const plan = await planTreeRestore(host, input(live));
    const stager = new Stager(host, input(live), new RecordingReporter(), 'tree');
    const { staging } = stager;
    // What a kill in the middle of step 3 leaves: a staging dir, half the entries renamed, some
    // removals done, directories made but without their metadata; plus junk in the staging dir.
    for (const write of plan.writes) stager.add(write);
    const staged = await stager.finish(plan);
    await replaceEntries(host, input(live), plan.writes.slice(0, Math.floor(plan.writes.length / 2)), staged, 'tree');
    await removeEntries(host, input(live), plan.removals.slice(0, 2));
    writeFileSync(path.join(staging.flat, 'junk'), 'left by a killed run');
    expect(await oracle(backupTree, live, [...EXCLUDED, STAGING_NAME])).not.toBe('');

    const again = await planTreeRestore(host, input(live));
    expect(again.staleStaging).toBe(true);
    expect(again.writes.length).toBeLessThan(plan.writes.length);
    await applyTreeRestore(host, input(live), again, new RecordingReporter(), 'tree');

    expect(await oracle(backupTree, live)).toBe('');
    expect(await problemsOutsideExcluded(live)).toEqual([]);
    expect(isEmptyPlan(await planTreeRestore(host, input(live)))).toBe(true);
  });

  it('converges after being killed at any moment (SIGKILL of a real process)', async () => {
    const script = await buildRestoreScript();
    // How long an apply runs here, so that the kills spread over all of it (staging, renames,
    // removals, metadata) whatever the machine's speed.
    const timed = await runRestoreProcess(script, await freshLive('timed').then(async (live) => (await drift(live), live)));
    expect(timed.signal).toBeUndefined();
    let killedMidway = 0;
    for (const fraction of [0, 0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 0.95]) {
      const live = await freshLive(`killed-${fraction}`);
      await drift(live);
      const run = await runRestoreProcess(script, live, Math.floor(timed.applyMs * fraction));
      if (run.signal === 'SIGKILL') killedMidway += 1;

      await restore(live);
      expect(await oracle(backupTree, live), `killed ${fraction} of the way into the apply`).toBe('');
      expect(await problemsOutsideExcluded(live)).toEqual([]);
    }
    // On a loaded machine the timing drifts and some kills land after the apply ended; those runs
    // still prove convergence, but at least one must have been a real kill in the middle.
    expect(killedMidway).toBeGreaterThanOrEqual(1);
  });
});

/** Runs plan and apply in a process of its own; with `killAfterMs`, kills it that long into the apply. */
async function runRestoreProcess(script: string, live: string, killAfterMs?: number): Promise<{ signal: string | undefined; applyMs: number }> {
  const child = execa(process.execPath, [script, JSON.stringify(input(live))], { reject: false, buffer: { stdout: false } });
  let planned = 0;
  const done = child.then((r) => r);
  await new Promise<void>((resolve) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (!chunk.includes('planned')) return;
      planned = Date.now();
      resolve();
    });
    void done.finally(resolve);
  });
  if (killAfterMs !== undefined) {
    await new Promise((resolve) => setTimeout(resolve, killAfterMs));
    child.kill('SIGKILL');
  }
  const run = await done;
  if (run.exitCode !== 0 && run.signal === undefined) throw new Error(`restore process failed: ${String(run.stderr)}`);
  return { signal: run.signal, applyMs: Date.now() - planned };
}

/** The example lines under the section whose title matches. */
function examples(text: string, title: RegExp): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => !l.startsWith(' ') && title.test(l));
  if (start === -1) return [];
  const end = lines.findIndex((l, i) => i > start && !l.startsWith(' '));
  return lines.slice(start + 1, end === -1 ? undefined : end).map((l) => l.trim());
}

/** A plan and apply in a process of its own, to be killed. */
async function buildRestoreScript(): Promise<string> {
  // Beside the project's node_modules, where the bundle's external packages are found.
  const outfile = path.resolve(import.meta.dirname, '../../node_modules/.cache/tree-restore-test/restore-tree.mjs');
  const src = path.resolve(import.meta.dirname, '../../src');
  await build({
    stdin: {
      contents: `
        import { realHost } from ${JSON.stringify(`${src}/host/real.ts`)};
        import { RecordingReporter } from ${JSON.stringify(`${src}/core/reporter.ts`)};
        import { planTreeRestore } from ${JSON.stringify(`${src}/restore/treePlan.ts`)};
        import { applyTreeRestore } from ${JSON.stringify(`${src}/restore/treeApply.ts`)};
        const input = JSON.parse(process.argv[2]);
        const host = realHost('/');
        const plan = await planTreeRestore(host, input);
        process.stdout.write('planned\\n');
        await applyTreeRestore(host, input, plan, new RecordingReporter(), 'tree');
        process.stdout.write('applied\\n');
      `,
      resolveDir: src,
      loader: 'ts',
    },
    outfile,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node24',
    logLevel: 'warning',
  });
  return outfile;
}

describe('how entries are staged: an archive into tar, cp for big files and holes, links for the rest of a group', () => {
  let source: string;
  let generation: GenerationPaths;
  const MiB = 1024 * 1024;

  beforeAll(async () => {
    source = path.join(work, 'big');
    mkdirSync(path.join(source, 'bin'), { recursive: true });
    const big = path.join(source, 'bin/tool');
    // 12 MiB of data around a 4 MiB hole, labelled, owned, setuid, with a nanosecond mtime.
    await sh('dd', 'if=/dev/urandom', `of=${big}`, 'bs=1M', 'count=4', 'status=none');
    await sh('dd', 'if=/dev/urandom', `of=${big}`, 'bs=1M', 'count=8', 'seek=8', 'conv=notrunc', 'status=none');
    await sh('chown', '123:456', big);
    await sh('chmod', '4750', big);
    await sh('setfattr', '-n', 'security.selinux', '-v', 'system_u:object_r:bin_t:s0', big);
    await sh('touch', '-d', '2024-02-03 04:05:06.123456789', big);
    // A big file with two names: copied by cp, its other name linked to the copy.
    await sh('dd', 'if=/dev/urandom', `of=${path.join(source, 'bin/pair')}`, 'bs=1M', 'count=9', 'status=none');
    await sh('ln', path.join(source, 'bin/pair'), path.join(source, 'bin/pair-link'));
    writeFileSync(path.join(source, 'bin/small'), 'small\n');
    // A small file with a hole: cp too (an archive would write its zeros).
    await sh('dd', 'if=/dev/urandom', `of=${path.join(source, 'bin/holey')}`, 'bs=4k', 'count=1', 'seek=64', 'status=none');
    // A socket: no archive member can make one.
    await sh('python3', '-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(path.join(source, 'bin/control.sock'))})`);
    await sh('setfattr', '-h', '-n', 'security.selinux', '-v', 'system_u:object_r:var_run_t:s0', path.join(source, 'bin/control.sock'));
    generation = new GenerationPaths(path.join(work, 'big-generation'));
    mkdirSync(generation.manifests, { recursive: true });
    await execa('cp', ['-a', source, generation.tree('big')]);
    await writeTreeManifest(host, new RecordingReporter(), generation, 'big', source, { entries: 0, files: 0, bytes: 0, allocated: 0 });
  });

  async function drifted(name: string): Promise<{ live: string; bigInput: TreePlanInput }> {
    const live = path.join(work, name);
    await execa('cp', ['-a', source, live]);
    for (const file of ['bin/tool', 'bin/pair', 'bin/small', 'bin/holey']) {
      const fd = openSync(path.join(live, file), 'r+');
      writeSync(fd, Buffer.from('drifted'), 0, 7, 0);
      closeSync(fd);
    }
    // The pair is one inode no more.
    await sh('cp', '-a', path.join(live, 'bin/pair-link'), path.join(live, 'bin/pair-link.tmp'));
    await sh('mv', path.join(live, 'bin/pair-link.tmp'), path.join(live, 'bin/pair-link'));
    rmSync(path.join(live, 'bin/control.sock'));
    return { live, bigInput: { backupTree: generation.tree('big'), manifest: generation.manifest('big'), liveTree: live, excluded: [] } };
  }

  /** The commands a restore runs, with what they stage (cp's source as the path it opened). */
  function recordingCommands(): { on: Host; commands: string[] } {
    return recordingHost((command, options) =>
      command === 'cp' ? `cp ${path.relative(generation.tree('big'), readlinkSync(`/proc/self/fd/${options!.extraFds![0]}`))}` : copyingCommand(command),
    );
  }

  it('stages small entries through tar, big files, holes and sockets by cp, keeping holes, owners, modes, labels, times and links', async () => {
    const { live, bigInput } = await drifted('big-live');
    const { on, commands } = recordingCommands();
    const plan = await planTreeRestore(on, bigInput);
    await applyTreeRestore(on, bigInput, plan, new RecordingReporter(), 'big');
    // One archive (bin/small), cp for each of the others, then the directories' metadata pass.
    expect(commands).toEqual(['tar', 'cp bin/control.sock', 'cp bin/holey', 'cp bin/pair', 'cp bin/tool', 'tar']);
    expect(await rsyncDifferences(generation.tree('big'), live)).toBe('');
    const tool = statSync(path.join(live, 'bin/tool'));
    expect(tool.size).toBe(16 * MiB);
    expect(tool.blocks * 512).toBeLessThanOrEqual(12 * MiB + 64 * 1024);
    expect(statSync(path.join(live, 'bin/holey')).blocks * 512).toBeLessThanOrEqual(64 * 1024);
    expect(lstatSync(path.join(live, 'bin/control.sock')).isSocket()).toBe(true);
    expect(statSync(path.join(live, 'bin/pair')).ino).toBe(statSync(path.join(live, 'bin/pair-link')).ino);
    // Nanosecond times included (a directory changed within the second of the backup).
    expect(isEmptyPlan(await planTreeRestore(host, bigInput))).toBe(true);
  });

  it('brings back every kind of entry through the archive exactly: odd names and targets, ACLs, binary xattrs, big ids, devices, old and far times', async () => {
    const odd = path.join(work, 'odd-source');
    mkdirSync(path.join(odd, 'd'), { recursive: true });
    const at = (rel: string) => path.join(odd, rel);
    writeFileSync(at('d/plain'), 'plain\n');
    writeFileSync(at('d/empty'), '');
    await sh('setfacl', '-m', 'u:123:rw,g:456:r', at('d/plain'));
    writeFileSync(at('d/binary-xattr'), 'x');
    await sh('setfattr', '-n', 'user.bin', '-v', '0x00ff0a3d20', at('d/binary-xattr'));
    writeFileSync(at('d/big-ids'), 'ids');
    await sh('chown', '1000680000:3000000', at('d/big-ids'));
    writeFileSync(at('d/modes'), 'modes');
    await sh('chmod', '7751', at('d/modes'));
    await sh('ln', '-s', Buffer.concat([Buffer.from('/target/'), NEW_ODD_NAME, Buffer.alloc(150, 0x6c)]).toString('latin1'), at('d/odd-link'));
    await sh('mknod', '-m', '0640', at('d/device'), 'c', '259', '300');
    await sh('mkfifo', '-m', '0600', at('d/fifo'));
    writeFileSync(at(`d/${'n'.repeat(200)}`), 'long name');
    mkdirSync(at(`d/${'deep/'.repeat(25)}`), { recursive: true });
    writeFileSync(at(`d/${'deep/'.repeat(25)}leaf`), 'deep');
    writeFileSync(at('d/first-name'), 'one inode, two names');
    await sh('ln', at('d/first-name'), at('d/second-name'));
    await sh('touch', '-h', '-d', '1960-01-01 00:00:00.5', at('d/plain'), at('d/odd-link'));
    await sh('touch', '-d', '2300-01-01 00:00:00.000000001', at('d/empty'));
    for (const rel of ['d/plain', 'd/modes', 'd/device', 'd/fifo']) await sh('setfattr', '-h', '-n', 'security.selinux', '-v', 'system_u:object_r:etc_t:s0', at(rel));
    const oddGeneration = new GenerationPaths(path.join(work, 'odd-generation'));
    mkdirSync(oddGeneration.manifests, { recursive: true });
    await execa('cp', ['-a', odd, oddGeneration.tree('odd')]);
    await writeTreeManifest(host, new RecordingReporter(), oddGeneration, 'odd', odd, { entries: 0, files: 0, bytes: 0, allocated: 0 });
    const live = path.join(work, 'odd-live');
    const oddInput = { backupTree: oddGeneration.tree('odd'), manifest: oddGeneration.manifest('odd'), liveTree: live, excluded: [] };
    const { on, commands } = recordingCommands();
    await restoreAsStep(on, oddInput);
    expect(commands).toEqual(['tar', 'tar']);
    expect(await rsyncDifferences(oddGeneration.tree('odd'), live)).toBe('');
    expect(readlinkSync(path.join(live, 'd/odd-link'), { encoding: 'buffer' })).toEqual(readlinkSync(at('d/odd-link'), { encoding: 'buffer' }));
    expect(statSync(path.join(live, 'd/first-name')).ino).toBe(statSync(path.join(live, 'd/second-name')).ino);
    expect(isEmptyPlan(await planTreeRestore(host, oddInput))).toBe(true);
  });

  it('gives staged entries no ACL the tree root would pass down to them', async () => {
    const live = await freshLive('default-acl');
    await drift(live);
    // A default ACL on the root: everything made inside inherits it, the staging dir included.
    await sh('setfacl', '-d', '-m', 'u:123:rwx', live);
    await sh('setfacl', '-d', '-m', 'u:123:rwx', path.join(backupTree));
    try {
      await restore(live);
      expect(await oracle(backupTree, live)).toBe('');
    } finally {
      await sh('setfacl', '-k', backupTree);
    }
  });

  it('refuses a big file whose backup copy no longer matches its manifest, the live tree as it was', async () => {
    const { live, bigInput } = await drifted('big-damaged');
    const before = path.join(work, 'big-damaged-before');
    await execa('cp', ['-a', live, before]);
    const damaged = path.join(generation.tree('big'), 'bin/tool');
    const original = readFileSync(damaged);
    const fd = openSync(damaged, 'r+');
    writeSync(fd, Buffer.from([original[5 * MiB - 1]! ^ 1]), 0, 1, 5 * MiB - 1);
    closeSync(fd);
    try {
      const plan = await planTreeRestore(host, bigInput);
      await expect(applyTreeRestore(host, bigInput, plan, new RecordingReporter(), 'big')).rejects.toMatchObject({
        kind: 'failure',
        message: `the backup copy of ${damaged} does not match its manifest: the backup is damaged`,
      });
      expect(await rsyncDifferences(before, live)).toBe('');
      expect(existsSync(path.join(live, STAGING_NAME))).toBe(false);
    } finally {
      writeFileSync(damaged, original);
    }
  });
});

describe('the staging dir', () => {
  it('is a flat dir of its own per run, under a dir that ext4 is told to spread (its files then land in a fresh block group)', async () => {
    const live = await freshLive('staging-spread');
    const first = new Staging(host, live);
    const second = new Staging(host, live);
    expect(path.dirname(first.flat)).toBe(first.dir);
    expect(first.flat).not.toBe(second.flat);
    await first.create();
    expect(statSync(first.flat).mode & 0o777).toBe(0o700);
    // This machine's test dirs are on ext4, which takes the hint; another filesystem may refuse it.
    const fsType = (await execa('stat', ['-f', '-c', '%T', first.dir])).stdout.trim();
    const flags = (await execa('lsattr', ['-d', first.dir])).stdout.split(' ')[0]!;
    if (fsType === 'ext2/ext3') expect(flags).toContain('T');
    // The next run starts over: its own flat dir, the last one gone with the staging dir.
    await second.create();
    expect(existsSync(first.flat)).toBe(false);
    expect(existsSync(second.flat)).toBe(true);
    await second.remove();
    expect(existsSync(path.join(live, STAGING_NAME))).toBe(false);
  });

  it('restores all the same where the filesystem refuses the hint', async () => {
    const live = await freshLive('staging-no-hint');
    await drift(live);
    const refused: string[] = [];
    const noHint: Host = {
      ...host,
      runner: {
        async run(command, args, options) {
          if (command !== 'chattr') return host.runner.run(command, args, options);
          refused.push(args.join(' '));
          return { exitCode: 1, stdout: '', stderr: `chattr: Operation not supported while setting flags on ${args.at(-1)}` };
        },
      },
    };
    await restore(live, backupTree, noHint);
    expect(refused).toEqual([`+T ${path.join(live, STAGING_NAME)}`]);
    expect(await oracle(backupTree, live)).toBe('');
    expect(existsSync(path.join(live, STAGING_NAME))).toBe(false);
  });
});
