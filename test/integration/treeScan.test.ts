// The walk of a live tree done in another thread (src/host/treeScan.ts) gives what the walk in this
// thread gives: the same entries in the same order, the same facts of each, the same ignored paths
// and skipped directories, and a missing tree as an empty walk.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { realFs } from '../../src/host/real.js';
import { LiveWalk, type LiveEntry } from '../../src/restore/treeWalk.js';
import { prepareScanWorker, scanWorkerReady } from '../../src/host/treeScan.js';

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tree-scan-'));
  for (let d = 0; d < 30; d++) {
    mkdirSync(path.join(dir, `d${d}`, 'sub'), { recursive: true });
    for (let f = 0; f < 40; f++) writeFileSync(path.join(dir, `d${d}`, `f${f}`), `${d}/${f}`);
    writeFileSync(path.join(dir, `d${d}`, 'sub', 'x'), 'x');
  }
  mkdirSync(path.join(dir, 'a/b'), { recursive: true });
  mkdirSync(path.join(dir, 'a.b'));
  writeFileSync(Buffer.from(`${dir}/odd-\xff\xfe`, 'latin1'), 'not utf-8');
  // Directories whose names are not ASCII (one not UTF-8, one UTF-8), with plain names inside: the
  // thread passes a path as a string only while all of it is ASCII.
  for (const odd of ['odd-dir-\xe9', 'caf\xc3\xa9']) {
    mkdirSync(Buffer.from(`${dir}/${odd}/inner`, 'latin1'), { recursive: true });
    writeFileSync(Buffer.from(`${dir}/${odd}/inner/file`, 'latin1'), 'inside');
  }
  symlinkSync('/nowhere', path.join(dir, 'link'));
  await execa('mkfifo', [path.join(dir, 'fifo')]);
  await execa('mknod', [path.join(dir, 'dev'), 'c', '259', '300']);
  writeFileSync(path.join(dir, 'ids'), 'ids');
  await execa('chown', ['1000680000:7', path.join(dir, 'ids')]);
  mkdirSync(path.join(dir, '.upgrade-recovery-staging/f'), { recursive: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function walked(scan: boolean, ignored: string[], skip: (entry: LiveEntry) => boolean, root = dir): Promise<Array<[string, unknown]>> {
  const walk = new LiveWalk(realFs, root, ignored.map((p) => Buffer.from(p)), scan);
  const seen: Array<[string, unknown]> = [];
  try {
    for (let entry = await walk.next(); entry; entry = await walk.next(skip(entry))) seen.push([entry.rel.toString('latin1'), { ...entry.stat, abs: entry.abs.toString('latin1') }]);
  } finally {
    await walk.close();
  }
  return seen;
}

describe('a tree walked by another thread', () => {
  it('gives the same entries, order and facts as the walk in this thread', async () => {
    const ignored = ['.upgrade-recovery-staging', 'd3/sub', 'd7'];
    const skip = (entry: LiveEntry) => ['d5', 'd12/sub', 'a'].includes(entry.rel.toString());
    const here = await walked(false, ignored, skip);
    const there = await walked(true, ignored, skip);
    expect(there).toEqual(here);
    const rels = here.map(([rel]) => rel);
    expect(rels.length).toBeGreaterThan(1000);
    expect(rels).toContain('odd-\xff\xfe');
    for (const odd of ['odd-dir-\xe9', 'caf\xc3\xa9']) expect(rels).toEqual(expect.arrayContaining([odd, `${odd}/inner`, `${odd}/inner/file`]));
    expect(rels).toContain('d5');
    for (const gone of ['d5/f1', 'd7', 'd7/f1', 'd3/sub', 'd12/sub/x', 'a/b', '.upgrade-recovery-staging']) expect(rels).not.toContain(gone);
    expect(here.find(([rel]) => rel === 'ids')![1]).toMatchObject({ uid: 1000680000, gid: 7, type: 'file', size: 3 });
  });

  it('is empty for a tree that is not there, and can be closed early', async () => {
    expect(await walked(true, [], () => false, path.join(dir, 'missing'))).toEqual([]);
    const walk = new LiveWalk(realFs, dir, [], true);
    expect((await walk.next())?.rel.toString()).toBe('.');
    await walk.close();
  });

  it('walks the same with a thread started ahead of it, which the next walk takes', async () => {
    const ignored = ['d7'];
    const skip = (entry: LiveEntry) => entry.rel.toString() === 'd5';
    const fresh = await walked(true, ignored, skip);
    prepareScanWorker();
    expect(scanWorkerReady()).toBe(true);
    // Still one thread: a second call keeps the one waiting.
    prepareScanWorker();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // A scan that does not ask for it (verify's) leaves it to the plan.
    const scan = realFs.scanTree!(dir, ignored);
    while (await scan.next());
    await scan.close();
    expect(scanWorkerReady()).toBe(true);
    const ahead = await walked(true, ignored, skip);
    expect(scanWorkerReady()).toBe(false);
    expect(ahead).toEqual(fresh);
    // One walk, one thread: the next starts its own again.
    expect(await walked(true, ignored, skip)).toEqual(fresh);
  });

  it("sends hashes and link targets only to a scan that asks for them (verify's), none to a restore's walk", async () => {
    const batches = async (options: { hash?: boolean; targets?: boolean }) => {
      const scan = realFs.scanTree!(dir, ['d7'], options);
      const all = [];
      try {
        for (let batch = await scan.next(); batch; batch = await scan.next()) all.push(batch);
      } finally {
        await scan.close();
      }
      return all;
    };
    for (const batch of await batches({})) expect([batch.sha256s.length, batch.targets.length]).toEqual([0, 0]);
    const asked = (await batches({ hash: true, targets: true })).flatMap((batch) => batch.rels.map((rel, i) => [rel, batch.sha256s[i], batch.targets[i]]));
    expect(asked.find(([rel]) => rel === 'link')).toEqual(['link', null, '/nowhere']);
    expect(asked.find(([rel]) => rel === 'd1/f2')![1]).toMatch(/^[0-9a-f]{64}$/);
  });
});
