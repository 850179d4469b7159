// The check of a tree against its manifest reports the same problems, in the same order, whether
// the tree is walked and hashed by another thread (src/manifest/verifyScanned.ts, a real disk) or
// in this one (src/manifest/verifyTree.ts's own walk, what a filesystem without threads gets).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GenerationPaths } from '../../src/backup/layout.js';
import { writeTreeManifest } from '../../src/backup/treeManifest.js';
import { RecordingReporter } from '../../src/core/reporter.js';
import type { Host } from '../../src/host/ports.js';
import { realHost } from '../../src/host/real.js';
import { verifyTreeAgainstManifest } from '../../src/manifest/verifyTree.js';
import { OTHER_THREAD_MAX_ENTRIES } from '../../src/host/threadBudget.js';
import { manifestLinesDigest } from '../support/backupChecks.js';

const host = realHost('/');
/** The same host without the other threads: verifyTree walks and hashes here. */
const inThisThread: Host = { ...host, fs: { ...host.fs, scanTree: undefined, startHasher: undefined } };
let work: string;
let tree: string;
let generation: GenerationPaths;

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'verify-tree-'));
  tree = path.join(work, 'tree');
  for (let d = 0; d < 5; d++) {
    mkdirSync(path.join(tree, `d${d}`), { recursive: true });
    for (let f = 0; f < 700; f++) writeFileSync(path.join(tree, `d${d}`, `f${f}`), `content ${d}/${f}\n`);
  }
  writeFileSync(path.join(tree, 'big'), Buffer.alloc(3 * 1024 * 1024, 7));
  symlinkSync('d0/f1', path.join(tree, 'link'));
  linkSync(path.join(tree, 'd1/f1'), path.join(tree, 'd1/f1-again'));
  writeFileSync(Buffer.from(`${tree}/odd-\xff`, 'latin1'), 'odd');
  await execa('setfattr', ['-n', 'security.selinux', '-v', 'system_u:object_r:etc_t:s0', path.join(tree, 'd2/f2')]);
  generation = new GenerationPaths(path.join(work, 'generation'));
  mkdirSync(generation.manifests, { recursive: true });
  await execa('cp', ['-a', tree, generation.tree('t')]);
  await writeTreeManifest(host, new RecordingReporter(), generation, 't', tree, { entries: 0, files: 0, bytes: 0, allocated: 0 });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const problems = async (on: Host, data: boolean) => {
  const check = await verifyTreeAgainstManifest(on, generation.tree('t'), generation.manifest('t'), { data });
  return { entries: check.entries, problems: check.problems.map((p) => `${p.path}: ${p.problem}`), more: check.moreProblems };
};

describe('the check of a tree, in another thread or in this one', () => {
  it('finds nothing wrong in an intact copy, either way', async () => {
    for (const data of [false, true]) {
      expect(await problems(host, data)).toEqual({ entries: 3510, problems: [], more: 0 });
      expect(await problems(inThisThread, data)).toEqual({ entries: 3510, problems: [], more: 0 });
    }
  });

  it("gives the digest of the manifest's lines it read and checked whole, either way", async () => {
    for (const on of [host, inThisThread]) {
      expect((await verifyTreeAgainstManifest(on, generation.tree('t'), generation.manifest('t'), { data: false })).linesDigest).toBe(manifestLinesDigest(generation.manifest('t')));
    }
  });

  it('reports the same problems in the same order', async () => {
    const copy = generation.tree('t');
    chmodSync(path.join(copy, 'd0/f3'), 0o600);
    writeFileSync(path.join(copy, 'd0/f4'), 'content 0/X\n');
    await execa('touch', ['-r', path.join(tree, 'd0/f4'), path.join(copy, 'd0/f4')]);
    unlinkSync(path.join(copy, 'd3/f5'));
    writeFileSync(path.join(copy, 'd3/extra'), 'extra');
    unlinkSync(path.join(copy, 'link'));
    symlinkSync('d0/f2', path.join(copy, 'link'));
    await execa('touch', ['-h', '-r', path.join(tree, 'link'), path.join(copy, 'link')]);
    await execa('setfattr', ['-n', 'security.selinux', '-v', 'system_u:object_r:bin_t:s0', path.join(copy, 'd2/f2')]);
    unlinkSync(path.join(copy, 'd1/f1-again'));
    writeFileSync(path.join(copy, 'd1/f1-again'), 'content 1/1\n');
    await execa('touch', ['-r', path.join(tree, 'd1/f1-again'), path.join(copy, 'd1/f1-again')]);
    for (const data of [false, true]) {
      const there = await problems(host, data);
      expect(there).toEqual(await problems(inThisThread, data));
      expect(there.problems).toEqual(expect.arrayContaining(['d0/f3: mode 0600, expected 0644', 'd3/f5: missing', 'd3/extra: not in the manifest', 'link: symlink target changed', 'd2/f2: extended attributes changed']));
      if (data) expect(there.problems).toContain('d0/f4: content differs from its SHA-256');
    }
  });
});

describe('a tree too big for a second thread', () => {
  it('is checked in this thread, and found as the other way finds it', async () => {
    const scans: string[] = [];
    const counting: Host = { ...host, fs: { ...host.fs, scanTree: (...args) => (scans.push(args[0]), host.fs.scanTree!(...args)) } };
    const check = async (expectedEntries: number) =>
      (await verifyTreeAgainstManifest(counting, generation.tree('t'), generation.manifest('t'), { data: true, expectedEntries })).entries;
    expect(await check(3_510)).toBe(3_510);
    expect(scans).toEqual([generation.tree('t')]);
    expect(await check(OTHER_THREAD_MAX_ENTRIES + 1)).toBe(3_510);
    expect(scans).toHaveLength(1);
  });

  it('has its manifest hashed in this thread, with the spare thread ended first, and records what the other way does', async () => {
    const calls: string[] = [];
    const counting: Host = {
      ...host,
      fs: {
        ...host.fs,
        startHasher: () => (calls.push('start'), host.fs.startHasher!()),
        releaseSpareHasher: () => (calls.push('release'), host.fs.releaseSpareHasher!()),
      },
    };
    const entries = async (component: string, expectedEntries: number) => {
      mkdirSync(generation.tree(component), { recursive: true });
      await execa('cp', ['-a', `${tree}/.`, generation.tree(component)]);
      await writeTreeManifest(counting, new RecordingReporter(), generation, component, tree, { entries: expectedEntries, files: 0, bytes: 0, allocated: 0 });
      const check = await verifyTreeAgainstManifest(host, generation.tree(component), generation.manifest(component), { data: true });
      expect(check.problems).toEqual([]);
      // The entries' lines: the header and the footer's digest name the component and the time.
      return readFileSync(generation.manifest(component), 'utf8').split('\n').filter((line) => line.startsWith('{"kind":"entry"'));
    };
    const small = await entries('small', 3_600);
    expect(calls).toEqual(['start']);
    calls.length = 0;
    const big = await entries('big', OTHER_THREAD_MAX_ENTRIES + 1);
    expect(calls).toEqual(['release']);
    expect(big).toEqual(small);
    expect(big.length).toBe(3_510);
  });
});
