// The backup's copy vouches for itself: each entry's copyIdentity (dev:ino:ctimeNs of the copy)
// lets the structure check skip getfattr for what has not changed since the backup described it.
// Real backup of a sandbox node, real labels and ACLs changed with setfattr, chmod and chown; the
// getfattr calls are counted through a runner that records them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runBackup } from '../../src/backup/runBackup.js';
import { GenerationPaths } from '../../src/backup/layout.js';
import { writeTreeManifest } from '../../src/backup/treeManifest.js';
import { RecordingReporter } from '../../src/core/reporter.js';
import type { Host } from '../../src/host/ports.js';
import { realHost } from '../../src/host/real.js';
import { readManifest } from '../../src/manifest/reader.js';
import { verifyTreeAgainstManifest } from '../../src/manifest/verifyTree.js';
import { ManifestWriter } from '../../src/manifest/writer.js';
import type { ManifestEntry } from '../../src/manifest/schema.js';
import { verifyBackup } from '../../src/verify/verifyBackup.js';
import { describeTree } from '../../src/tree/describe.js';
import { currentGeneration } from '../support/backupChecks.js';
import { makeTestNode, type TestNode } from '../support/sandbox.js';

const TREES = ['etc', 'local', 'kubelet'] as const;

/** A real host whose getfattr calls are kept: the path arguments of each call. */
function recordingHost(root: string): { host: Host; getfattr: string[][] } {
  const host = realHost(root);
  const getfattr: string[][] = [];
  const runner = host.runner;
  host.runner = {
    run(command, args, options) {
      if (command === 'getfattr') getfattr.push(args.filter((a) => a.startsWith('/')));
      return runner.run(command, args, options);
    },
  };
  return { host, getfattr };
}

async function entriesOf(file: string): Promise<ManifestEntry[]> {
  const entries: ManifestEntry[] = [];
  await readManifest(realHost('/').fs, file, (e) => void entries.push(e));
  return entries;
}

/** Writes `entries` as a complete manifest (valid footer) after `change` edits each. */
async function rewriteManifest(entries: ManifestEntry[], file: string, change: (entry: Record<string, unknown>) => void): Promise<void> {
  const writer = await ManifestWriter.create(realHost('/').fs, file, 'etc', new Date());
  for (const { kind: _kind, ...entry } of entries) {
    change(entry);
    await writer.add(entry as Omit<ManifestEntry, 'kind'>);
  }
  await writer.close();
}

const problemsOf = (check: { problems: Array<{ path: string; problem: string }> }) => check.problems.map((p) => `${p.path}: ${p.problem}`);

describe('the structure check of a backup that vouches for its own copy', () => {
  let node: TestNode;
  let generation: string;

  beforeAll(async () => {
    node = await makeTestNode({ seed: 23, smallFiles: 400, pods: 3, bigFileBytes: 1024 * 1024 });
    await runBackup(realHost(node.root), new RecordingReporter(), { dir: node.backupDir, force: false, fresh: false, spaceMargin: 0, toolVersion: 'test' });
    generation = currentGeneration(node.backupDir);
  });
  afterAll(() => node?.cleanup());

  it('records the copy identity of every entry of the three trees, as lstat sees the copy', async () => {
    for (const tree of TREES) {
      const entries = await entriesOf(path.join(generation, 'manifests', `${tree}.jsonl`));
      expect(entries.length).toBeGreaterThan(10);
      for (const entry of entries) {
        const rel = entry.path ?? Buffer.from(entry.pathB64!, 'base64').toString('latin1');
        const stat = lstatSync(Buffer.from(path.join(generation, tree, rel), 'latin1'), { bigint: true });
        expect(entry.copyIdentity, `${tree}/${rel}`).toBe(`${stat.dev}:${stat.ino}:${stat.ctimeNs}`);
      }
    }
  });

  it('checks a fresh backup without a single getfattr of a tree entry, and finds it whole', async () => {
    const { host, getfattr } = recordingHost(node.root);
    const verdict = await verifyBackup(host, new RecordingReporter(), node.backupDir, false);
    expect(verdict.ok).toBe(true);
    expect(verdict.components.find((c) => c.name === 'etc')!.entries).toBeGreaterThan(400);
    // Only the cluster snapshot's entries (not vouched for: just written) are read.
    const read = getfattr.flat();
    expect(read.length).toBeGreaterThan(0);
    expect(read.every((p) => p.startsWith(path.join(generation, 'cluster')))).toBe(true);
    for (const tree of TREES) {
      getfattr.length = 0;
      const check = await verifyTreeAgainstManifest(host, path.join(generation, tree), path.join(generation, 'manifests', `${tree}.jsonl`), { data: false });
      expect(problemsOf(check)).toEqual([]);
      expect(getfattr).toEqual([]);
    }
  });

  it('verifies every byte with --data, still without getfattr for unchanged entries', async () => {
    const { host, getfattr } = recordingHost(node.root);
    const check = await verifyTreeAgainstManifest(host, path.join(generation, 'etc'), path.join(generation, 'manifests/etc.jsonl'), { data: true });
    expect(problemsOf(check)).toEqual([]);
    expect(getfattr).toEqual([]);
  });

  describe('after the copy was changed', () => {
    const etc = () => path.join(generation, 'etc');
    const check = async () => {
      const { host, getfattr } = recordingHost(node.root);
      const result = await verifyTreeAgainstManifest(host, etc(), path.join(generation, 'manifests/etc.jsonl'), { data: false });
      return { problems: problemsOf(result), read: getfattr.flat().map((p) => path.relative(etc(), p)).sort() };
    };

    beforeAll(async () => {
      // A new label, and a label changed with a chmod-and-back beside it: both move the ctime.
      await execa('setfattr', ['-h', '-n', 'security.selinux', '-v', 'system_u:object_r:tmp_t:s0', path.join(etc(), 'hostname')]);
      const sudoers = path.join(etc(), 'sudoers');
      const mode = lstatSync(sudoers).mode & 0o7777;
      chmodSync(sudoers, 0o600);
      await execa('setfattr', ['-h', '-n', 'security.selinux', '-v', 'system_u:object_r:tmp_t:s0', sudoers]);
      chmodSync(sudoers, mode);
      // An ACL removed from a directory.
      await execa('setfacl', ['-k', path.join(etc(), 'containers/registries.d')]);
      // A mode changed and left so; an owner changed and put back (nothing differs then).
      chmodSync(path.join(etc(), 'passwd'), 0o666);
      const owned = path.join(etc(), 'setgid-dir/owned-by-others.conf');
      const { uid, gid } = lstatSync(owned);
      chownSync(owned, 4321, 4321);
      chownSync(owned, uid, gid);
    });

    it('reports every change, and reads by getfattr exactly the entries whose ctime moved', async () => {
      const { problems, read } = await check();
      expect(problems.sort()).toEqual([
        'containers/registries.d: extended attributes changed',
        'hostname: extended attributes changed',
        'passwd: mode 0666, expected 0644',
        'sudoers: extended attributes changed',
      ]);
      expect(read).toEqual(['containers/registries.d', 'hostname', 'passwd', 'setgid-dir/owned-by-others.conf', 'sudoers']);
    });

    it('checks a manifest without copy identities (an older backup) as before: everything by getfattr', async () => {
      const manifest = path.join(node.work, 'old-etc.jsonl');
      await rewriteManifest(await entriesOf(path.join(generation, 'manifests/etc.jsonl')), manifest, (e) => delete e.copyIdentity);
      const { host, getfattr } = recordingHost(node.root);
      const result = await verifyTreeAgainstManifest(host, etc(), manifest, { data: false });
      expect(problemsOf(result).sort()).toEqual([
        'containers/registries.d: extended attributes changed',
        'hostname: extended attributes changed',
        'passwd: mode 0666, expected 0644',
        'sudoers: extended attributes changed',
      ]);
      expect(getfattr.flat()).toHaveLength(result.entries);
    });

    it('reads everything by getfattr when the copy is now on another device number', async () => {
      const manifest = path.join(node.work, 'moved-etc.jsonl');
      await rewriteManifest(await entriesOf(path.join(generation, 'manifests/etc.jsonl')), manifest, (e) => {
        const [dev, ino, ctime] = String(e.copyIdentity).split(':');
        e.copyIdentity = `${BigInt(dev!) + 1n}:${ino}:${ctime}`;
      });
      const { host, getfattr } = recordingHost(node.root);
      const result = await verifyTreeAgainstManifest(host, etc(), manifest, { data: false });
      expect(problemsOf(result)).toHaveLength(4);
      expect(getfattr.flat()).toHaveLength(result.entries);
    });

    it('takes a manifest line with a malformed copy identity for a damaged manifest', async () => {
      const manifest = path.join(node.work, 'bad-etc.jsonl');
      await rewriteManifest(await entriesOf(path.join(generation, 'manifests/etc.jsonl')), manifest, (e) => {
        if (e.path === 'hostname') e.copyIdentity = '12:not-an-inode:5';
      });
      const { host } = recordingHost(node.root);
      await expect(verifyTreeAgainstManifest(host, etc(), manifest, { data: false })).rejects.toThrow(/is damaged: line \d+: copyIdentity is not dev:ino:ctimeNs/);
    });

    it('says so through verify too, as one problem of the tree', async () => {
      const verdict = await verifyBackup(realHost(node.root), new RecordingReporter(), node.backupDir, false);
      const etcProblems = verdict.components.find((c) => c.name === 'etc')!.problems.map((p) => p.path).sort();
      expect(etcProblems).toEqual(['containers/registries.d', 'hostname', 'passwd', 'sudoers']);
      expect(verdict.ok).toBe(false);
    });
  });
});

// The manifest is read ahead of the merge to find the recorded xattrs; a long stretch of it
// missing on disk, or entries on disk not in it, must neither hang nor hide a difference.
describe('the look-up of recorded xattrs when the copy and its manifest drift apart', () => {
  let work: string;
  let generation: GenerationPaths;
  const host = realHost('/');

  beforeAll(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'ur-copyid-'));
    const source = path.join(work, 'source');
    for (const dir of ['a-many', 'b-few']) mkdirSync(path.join(source, dir), { recursive: true });
    for (let i = 0; i < 9000; i++) writeFileSync(path.join(source, 'a-many', `f${String(i).padStart(5, '0')}`), '');
    for (let i = 0; i < 5; i++) writeFileSync(path.join(source, 'b-few', `g${i}`), `${i}`);
    writeFileSync(path.join(source, 'z-last'), 'z');
    await execa('setfattr', ['-n', 'user.note', '-v', 'kept', path.join(source, 'b-few', 'g3')]);
    generation = new GenerationPaths(path.join(work, 'generation'));
    mkdirSync(generation.manifests, { recursive: true });
    await execa('cp', ['-a', '-T', source, generation.tree('tree')]);
    await writeTreeManifest(host, new RecordingReporter(), generation, 'tree', source, { entries: 0, files: 0, bytes: 0, allocated: 0 }, { dir: source, startedAt: new Date() });
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('vouches for every entry of the copy just written', async () => {
    const entries = await entriesOf(generation.manifest('tree'));
    expect(entries).toHaveLength(9009);
    expect(entries.every((e) => e.copyIdentity !== undefined)).toBe(true);
    const { host: recording, getfattr } = recordingHost('/');
    const check = await verifyTreeAgainstManifest(recording, generation.tree('tree'), generation.manifest('tree'), { data: false });
    expect(check.problems).toEqual([]);
    expect(check.entries).toBe(9009);
    expect(getfattr).toEqual([]);
  });

  it('reports 9,000 missing entries, one added, and a changed attribute after them', async () => {
    const tree = generation.tree('tree');
    rmSync(path.join(tree, 'a-many'), { recursive: true });
    writeFileSync(path.join(tree, 'b-few', 'g2-new'), 'new');
    await execa('setfattr', ['-n', 'user.note', '-v', 'changed', path.join(tree, 'b-few', 'g3')]);
    const { host: recording } = recordingHost('/');
    const check = await verifyTreeAgainstManifest(recording, tree, generation.manifest('tree'), { data: false });
    const listed = problemsOf(check);
    // The root and b-few changed too: their mtime and ctime moved with the removal and the new file.
    expect(listed.slice(0, 3)).toEqual(['.: modification time changed', 'a-many: missing', 'a-many/f00000: missing']);
    expect(check.problems.length + check.moreProblems).toBe(1 + 9001 + 1 + 1 + 1);
    const all = await verifyAll(recording, tree, generation.manifest('tree'));
    expect(all.filter((p) => !p.startsWith('a-many'))).toEqual([
      '.: modification time changed',
      'b-few: modification time changed',
      'b-few/g2-new: not in the manifest',
      'b-few/g3: extended attributes changed',
    ]);
  });
});

// Timestamps are coarse: xattrs read within a tick or so of an entry's ctime cannot vouch for it
// (a change right after could keep that ctime), so the describe waits that out, or leaves it out.
describe('when a copy identity is recorded', () => {
  let work: string;
  const sleeps: number[] = [];
  const describeWith = async (nowNs: bigint) => {
    const host = realHost('/');
    let now = nowNs / 1_000_000n;
    host.clock = {
      now: () => new Date(Number(now)),
      sleep: async (ms) => {
        sleeps.push(ms);
        now += BigInt(ms);
      },
    };
    const recorded: Array<string | undefined> = [];
    for await (const { description } of describeTree(host, work, { hash: false, copyIdentity: true })) recorded.push(description.copyIdentity);
    return recorded;
  };

  beforeAll(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'ur-copyid-clock-'));
    for (let i = 0; i < 3; i++) writeFileSync(path.join(work, `f${i}`), `${i}`);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('waits until the newest ctime is 100 ms old, then vouches for every entry', async () => {
    const newest = [work, ...[0, 1, 2].map((i) => path.join(work, `f${i}`))].map((p) => lstatSync(p, { bigint: true }).ctimeNs).reduce((a, b) => (a > b ? a : b));
    sleeps.length = 0;
    const recorded = await describeWith(newest + 10_000_000n);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(91);
    expect(sleeps[0]).toBeLessThanOrEqual(92);
    expect(recorded.every((identity) => /^\d+:\d+:\d+$/.test(identity ?? ''))).toBe(true);
  });

  it('neither waits nor vouches when the clock is behind the ctimes (set back)', async () => {
    sleeps.length = 0;
    const recorded = await describeWith(BigInt(Date.now() - 3_600_000) * 1_000_000n);
    expect(sleeps).toEqual([]);
    expect(recorded).toEqual([undefined, undefined, undefined, undefined]);
  });
});

/** Every problem, with the a-many ones cut out of a copy of the manifest so that none is capped. */
async function verifyAll(host: Host, tree: string, manifestFile: string): Promise<string[]> {
  const file = `${manifestFile}.without-a-many`;
  const entries = (await entriesOf(manifestFile)).filter((e) => !e.path?.startsWith('a-many'));
  await rewriteManifest(entries, file, () => undefined);
  return problemsOf(await verifyTreeAgainstManifest(host, tree, file, { data: false }));
}
