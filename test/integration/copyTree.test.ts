// The backup's tree copy, cut into parts copied by several cp processes at once, on the real trees
// of a sandbox node (labels, ACLs, hard links, holes, devices, a fifo, odd names). The proof is
// independent of our code: rsync -aAXHc finds nothing to change between the node and the copy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { linkSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createSandboxNode, removeSandbox } from '../../scripts/sandbox/sandboxNode.js';
import { CopyPlanBuilder, type CopyPlan } from '../../src/backup/copyPlan.js';
import { copyTree } from '../../src/backup/copyTree.js';
import { measureTree, type TreeSize } from '../../src/backup/diskSpace.js';
import { RecordingReporter } from '../../src/core/reporter.js';
import { Slots } from '../../src/core/slots.js';
import { realHost } from '../../src/host/real.js';
import { rsyncDifferences } from '../support/backupChecks.js';

const host = realHost('/');
const TREES = ['etc', 'var/usrlocal', 'var/lib/kubelet'];
let work: string;
let root: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'ur-copy-'));
  root = path.join(work, 'node');
  await createSandboxNode(root, { smallFiles: 120, pods: 6 });
  // Hard links between directories that end up in different units.
  linkSync(path.join(root, 'etc/hostname'), path.join(root, 'etc/systemd/hostname-link'));
  linkSync(path.join(root, 'var/lib/kubelet/kubeconfig'), path.join(root, 'var/lib/kubelet/pods/kubeconfig-link'));
  await execa('setfattr', ['-n', 'user.on-a-split-dir', '-v', 'kept', path.join(root, 'etc/systemd')]);
}, 120_000);

afterAll(async () => {
  if (work) await removeSandbox(work);
});

/** Measures the tree with small units, so that the sandbox's small trees are cut into many parts. */
async function measure(source: string, inThread = false): Promise<{ expected: TreeSize; plan: CopyPlan }> {
  const builder = new CopyPlanBuilder(4, 12);
  const expected = await measureTree(host, source, builder, inThread);
  return { expected, plan: builder.finish() };
}

async function copy(source: string, target: string, measured: { expected: TreeSize; plan: CopyPlan }) {
  const reporter = new RecordingReporter();
  await copyTree(host, reporter, { component: 'tree', source, target, ...measured, slots: new Slots(4), counted: { entries: 0 } });
  return reporter;
}

describe('copyTree in parallel parts', () => {
  it.each(TREES)('copies %s exactly: every entry, owner, mode, time, xattr, ACL, hole and hard link', async (tree) => {
    const source = path.join(root, tree);
    const target = path.join(work, 'copies', tree.replaceAll('/', '_'));
    mkdirSync(path.dirname(target), { recursive: true });
    const measured = await measure(source);
    expect(measured.plan.kind).toBe('split');
    if (measured.plan.kind === 'split') expect(measured.plan.jobs.flat().length).toBeGreaterThan(1);
    const reporter = await copy(source, target, measured);
    expect(reporter.warnings()).toEqual([]);
    expect(await rsyncDifferences(source, target)).toBe('');
  });

  it.each(TREES)('measures and cuts %s the same when another thread walks it', async (tree) => {
    const source = path.join(root, tree);
    const here = await measure(source);
    const there = await measure(source, true);
    expect(there).toEqual(here);
    expect(here.expected.entries).toBeGreaterThan(10);
    expect(here.expected.allocated).toBeGreaterThan(0);
  });

  it('also copies what appeared in a split directory after the tree was measured', async () => {
    const source = path.join(root, 'etc');
    const measured = await measure(source);
    writeFileSync(path.join(source, 'late-file'), 'created after the walk\n');
    mkdirSync(path.join(source, 'systemd/late-dir'));
    writeFileSync(path.join(source, 'systemd/late-dir/inside'), 'x\n');
    const target = path.join(work, 'late');
    await copy(source, target, measured);
    expect(await rsyncDifferences(source, target)).toBe('');
  });

  it('copies the whole tree again, with a warning, when a part vanished after the walk', async () => {
    const source = path.join(root, 'etc');
    const measured = await measure(source);
    if (measured.plan.kind !== 'split') throw new Error('expected a split plan');
    const unit = measured.plan.jobs.flat().find((rel) => rel.startsWith('systemd/'))!;
    rmSync(path.join(source, unit), { recursive: true });
    const target = path.join(work, 'vanished');
    const reporter = await copy(source, target, measured);
    expect(reporter.warnings().join('\n')).toMatch(/attempt 1 of 3/);
    expect(await rsyncDifferences(source, target)).toBe('');
  });
});
