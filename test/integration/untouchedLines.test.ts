// A restore plan settles the lines of untouched entries from their bytes, unparsed
// (src/restore/untouchedLine.ts), on a manifest verify checked whole: here on a real tree whose
// manifest our backup code wrote, with the node's identities. Which lines it settles that way, that
// the plan is the one a parse of every line gives, and that a manifest whose lines are not the
// ones checked is refused.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execa } from 'execa';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GenerationPaths } from '../../src/backup/layout.js';
import { writeTreeManifest } from '../../src/backup/treeManifest.js';
import { RecordingReporter } from '../../src/core/reporter.js';
import { realHost } from '../../src/host/real.js';
import { verifyTreeAgainstManifest } from '../../src/manifest/verifyTree.js';
import { describePlan, isEmptyPlan, planTreeRestore, type TreePlan, type TreePlanInput } from '../../src/restore/treePlan.js';
import { isUntouchedLine } from '../../src/restore/untouchedLine.js';

vi.mock('../../src/restore/untouchedLine.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/restore/untouchedLine.js')>();
  return { isUntouchedLine: vi.fn(actual.isUntouchedLine) };
});

const host = realHost('/');
const NON_UTF8 = Buffer.from([0x6f, 0x64, 0x64, 0xff]);
let work: string;
let tree: string;
let treeInput: TreePlanInput;
let checkedDigest: string;

const at = (rel: string) => path.join(tree, rel);

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'untouched-lines-'));
  tree = path.join(work, 'tree');
  for (let d = 0; d < 3; d++) {
    mkdirSync(at(`d${d}/inner`), { recursive: true });
    for (let f = 0; f < 20; f++) writeFileSync(at(`d${d}/f${f}.conf`), `content ${d}/${f}\n`);
    writeFileSync(at(`d${d}/inner/leaf`), `leaf ${d}\n`);
  }
  symlinkSync('d0/f1.conf', at('link'));
  writeFileSync(at('pair-a'), 'two names\n');
  linkSync(at('pair-a'), at('pair-b'));
  await execa('mkfifo', [at('fifo')]);
  await execa('setfattr', ['-n', 'security.selinux', '-v', 'system_u:object_r:etc_t:s0', at('d1/f1.conf')]);
  await execa('setfattr', ['-n', 'user.note', '-v', 'a "quoted" value', at('d2/f2.conf')]);
  // Names JSON escapes, or cannot hold: their lines are parsed.
  for (const name of ['back\\slash', 'q"uote', 'new\nline']) writeFileSync(at(name), 'odd\n');
  writeFileSync(Buffer.concat([Buffer.from(`${tree}/`), NON_UTF8]), 'not UTF-8\n');
  const generation = new GenerationPaths(path.join(work, 'generation'));
  mkdirSync(generation.manifests, { recursive: true });
  await execa('cp', ['-a', tree, generation.tree('t')]);
  // The node's identities recorded (the copy's start set past the margin for changes made just
  // before it, instead of waiting it out).
  const copySource = { dir: tree, startedAt: new Date(Date.now() + 3000) };
  await writeTreeManifest(host, new RecordingReporter(), generation, 't', tree, { entries: 0, files: 0, bytes: 0, allocated: 0 }, copySource);
  treeInput = { backupTree: generation.tree('t'), manifest: generation.manifest('t'), liveTree: tree, excluded: [] };
  checkedDigest = (await verifyTreeAgainstManifest(host, treeInput.backupTree, treeInput.manifest, { data: false })).linesDigest!;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The plan, and the live paths whose lines were settled unparsed and those that were parsed. */
async function plan(digest: string | undefined): Promise<{ plan: TreePlan; unparsed: string[]; parsed: string[] }> {
  const recognise = vi.mocked(isUntouchedLine);
  recognise.mockClear();
  const made = await planTreeRestore(host, { ...treeInput, ...(digest ? { checkedDigest: digest } : {}) }, undefined, undefined, { xattrsInMetadataPass: true });
  const paths = (verdict: boolean) => recognise.mock.calls.flatMap(([, live], i) => (recognise.mock.results[i]!.value === verdict ? [live.rel.toString('latin1')] : []));
  return { plan: made, unparsed: paths(true), parsed: paths(false) };
}

const summary = (p: TreePlan) => ({
  text: describePlan(p, 1000),
  writes: p.writes.map((w) => w.rel.toString('latin1')),
  removals: p.removals.map((r) => r.toString('latin1')),
  metadata: p.metadata.map((m) => m.toString('latin1')),
  xattrs: p.xattrsToCompare.map((x) => x.toString('latin1')),
  entries: p.entries,
});

describe('lines settled from their bytes', () => {
  it("settles every untouched entry's line unparsed, but the root's, a hard link's and names JSON escapes or cannot hold", async () => {
    const { plan: made, unparsed, parsed } = await plan(checkedDigest);
    expect(isEmptyPlan(made)).toBe(true);
    expect(parsed.sort()).toEqual(['.', 'back\\slash', 'new\nline', NON_UTF8.toString('latin1'), 'pair-a', 'pair-b', 'q"uote'].sort());
    // Directories, files, a symlink, a fifo, files with xattrs (one with quotes in its value).
    expect(unparsed).toHaveLength(made.entries - parsed.length);
    expect(unparsed).toEqual(expect.arrayContaining(['d0', 'd0/inner', 'd0/inner/leaf', 'd1/f1.conf', 'd2/f2.conf', 'fifo', 'link']));
  });

  it('parses every line of a manifest no check vouched for', async () => {
    const { plan: made, unparsed } = await plan(undefined);
    expect(isEmptyPlan(made)).toBe(true);
    expect(unparsed).toEqual([]);
    expect(vi.mocked(isUntouchedLine)).not.toHaveBeenCalled();
  });

  it('makes the plan a parse of every line makes, whatever changed', async () => {
    writeFileSync(at('d0/f3.conf'), 'changed\n');
    chmodSync(at('d1/f4.conf'), 0o600);
    await execa('touch', ['-d', '2020-01-01', at('d1/f5.conf')]);
    unlinkSync(at('d2/f6.conf'));
    writeFileSync(at('d2/added'), 'added\n');
    await execa('setfattr', ['-n', 'user.extra', '-v', 'x', at('d0/f7.conf')]);
    unlinkSync(at('pair-b'));
    rmSync(at('link'));
    symlinkSync('elsewhere', at('link'));
    const fast = await plan(checkedDigest);
    const slow = await plan(undefined);
    expect(summary(fast.plan)).toEqual(summary(slow.plan));
    expect(fast.plan.writes.length).toBeGreaterThan(0);
    // The changed entries (and their directories) were parsed; the rest were not.
    for (const changed of ['d0/f3.conf', 'd1/f4.conf', 'd1/f5.conf', 'd0/f7.conf', 'pair-a', 'link', 'd2']) expect(fast.unparsed).not.toContain(changed);
    expect(fast.unparsed).toEqual(expect.arrayContaining(['d0', 'd0/f1.conf', 'd1', 'd1/inner/leaf']));
  });

  it('refuses a manifest whose lines are not the ones verify checked', async () => {
    await expect(planTreeRestore(host, { ...treeInput, checkedDigest: 'f'.repeat(64) })).rejects.toMatchObject({
      message: expect.stringContaining('changed since it was checked before this restore'),
    });
  });
});
