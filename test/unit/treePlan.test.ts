// The restore planner's decisions, without a disk: what a manifest line and a live entry call for,
// which paths exclusions cover, when a hard-link group is written whole, how a plan reads.
import { describe, expect, it } from 'vitest';
import type { ManifestEntry } from '../../src/manifest/schema.js';
import { compareEntry, afterHash, Exclusions, groupNeedsRewrite, untouchedSinceBackup, WRITE_UNREAD_MIN_BYTES, type LiveFacts } from '../../src/restore/treeCompare.js';
import { describePlan, type TreePlan } from '../../src/restore/treePlan.js';
import { isStagingPath } from '../../src/restore/treeStaging.js';
import { LiveWalk } from '../../src/restore/treeWalk.js';
import { memHost } from '../support/memHost.js';

const SHA = 'a'.repeat(64);

function recorded(extra: Partial<ManifestEntry> = {}): ManifestEntry {
  return { kind: 'entry', path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 10, mtimeNs: '1000', sha256: SHA, ...extra };
}

function live(extra: Partial<LiveFacts> = {}): LiveFacts {
  return { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 10, mtimeNs: '1000', nlink: 1, rdev: 0, xattrs: {}, identity: '2049:77:900', ...extra };
}

const alone = { grouped: false };

describe('untouchedSinceBackup', () => {
  it('vouches for an entry whose identity (dev:ino:ctime) and mtime are the ones the backup recorded', () => {
    const vouched = recorded({ identity: '2049:77:900' });
    expect(untouchedSinceBackup(vouched, live(), alone)).toBe(true);
    const dir = recorded({ type: 'dir', size: 0, sha256: undefined, identity: '2049:77:900' });
    expect(untouchedSinceBackup(dir, live({ type: 'dir', size: 0 }), alone)).toBe(true);
  });

  it('does not for another inode, a change since (ctime), another device, type or mtime, or no identity', () => {
    const vouched = recorded({ identity: '2049:77:900' });
    for (const identity of ['2049:78:900', '2049:77:901', '2050:77:900']) expect(untouchedSinceBackup(vouched, live({ identity }), alone)).toBe(false);
    expect(untouchedSinceBackup(vouched, live({ mtimeNs: '2000' }), alone)).toBe(false);
    expect(untouchedSinceBackup(vouched, live({ type: 'dir' }), alone)).toBe(false);
    expect(untouchedSinceBackup(recorded(), live(), alone)).toBe(false);
  });

  it('still compares a file linked outside its hard-link group, so that it gets its own inode', () => {
    const vouched = recorded({ identity: '2049:77:900' });
    expect(untouchedSinceBackup(vouched, live({ nlink: 2 }), alone)).toBe(false);
    expect(untouchedSinceBackup(vouched, live({ nlink: 2 }), { grouped: true })).toBe(true);
  });
});

describe('compareEntry', () => {
  it('hashes a file whose metadata is all equal: equal metadata does not prove equal content', () => {
    expect(compareEntry(recorded(), live(), alone)).toEqual({ action: 'hash', ifSame: 'none' });
  });

  it('hashes a file whose mtime changed, and fixes only metadata when the content is the same', () => {
    const verdict = compareEntry(recorded(), live({ mtimeNs: '2000' }), alone);
    expect(verdict).toEqual({ action: 'hash', ifSame: 'metadata' });
    expect(afterHash(verdict as Extract<typeof verdict, { action: 'hash' }>, recorded(), SHA)).toEqual({ action: 'metadata' });
    expect(afterHash(verdict as Extract<typeof verdict, { action: 'hash' }>, recorded(), 'b'.repeat(64))).toMatchObject({ action: 'write' });
  });

  it('writes a big file whose mtime changed without hashing it, and still hashes one whose mtime is the same', () => {
    const big = { size: WRITE_UNREAD_MIN_BYTES };
    expect(compareEntry(recorded(big), live({ ...big, mtimeNs: '2000' }), alone)).toMatchObject({ action: 'write' });
    expect(compareEntry(recorded(big), live(big), alone)).toEqual({ action: 'hash', ifSame: 'none' });
    const smaller = { size: WRITE_UNREAD_MIN_BYTES - 1 };
    expect(compareEntry(recorded(smaller), live({ ...smaller, mtimeNs: '2000' }), alone)).toMatchObject({ action: 'hash' });
  });

  it('trusts the content when only mode, owner or xattrs differ at the same size and mtime', () => {
    expect(compareEntry(recorded(), live({ mode: 0o4755 }), alone)).toEqual({ action: 'metadata' });
    expect(compareEntry(recorded(), live({ uid: 5 }), alone)).toEqual({ action: 'metadata' });
    expect(compareEntry(recorded({ xattrs: { 'security.selinux': 'eA==' } }), live(), alone)).toEqual({ action: 'metadata' });
    expect(compareEntry(recorded(), live({ xattrs: { 'user.extra': 'eA==' } }), alone)).toEqual({ action: 'metadata' });
  });

  it('writes on another size, another type, another link target or device number', () => {
    expect(compareEntry(recorded(), live({ size: 11 }), alone)).toMatchObject({ action: 'write', reason: 'content changed (size)' });
    expect(compareEntry(recorded(), live({ type: 'dir' }), alone)).toMatchObject({ action: 'write', reason: 'is a dir, the backup has a file' });
    const link = recorded({ type: 'symlink', target: 'a', sha256: undefined, size: 1 });
    expect(compareEntry(link, live({ type: 'symlink', size: 1, target: Buffer.from('b') }), alone)).toMatchObject({ action: 'write' });
    expect(compareEntry(link, live({ type: 'symlink', size: 1, target: Buffer.from('a'), mtimeNs: '5' }), alone)).toEqual({ action: 'metadata' });
    const device = recorded({ type: 'char', rdev: 259, sha256: undefined, size: 0 });
    expect(compareEntry(device, live({ type: 'char', size: 0, rdev: 261 }), alone)).toMatchObject({ action: 'write', reason: 'device number changed' });
  });

  it('rewrites a file linked to another name unless the backup groups it, and never hashes a later name', () => {
    expect(compareEntry(recorded(), live({ nlink: 2 }), alone)).toMatchObject({ action: 'write', reason: 'hard-linked to another file' });
    expect(compareEntry(recorded(), live({ nlink: 2 }), { grouped: true })).toEqual({ action: 'hash', ifSame: 'none' });
    expect(compareEntry(recorded({ type: 'hardlink', linkTo: 'e', sha256: undefined }), live({ nlink: 2 }), { grouped: true })).toEqual({ action: 'none' });
  });

  it('fixes a directory whose mode, owner, time or ACL differs', () => {
    const dir = recorded({ type: 'dir', size: 0, sha256: undefined });
    expect(compareEntry(dir, live({ type: 'dir', size: 0 }), alone)).toEqual({ action: 'none' });
    expect(compareEntry(dir, live({ type: 'dir', size: 0, mode: 0o1777 }), alone)).toEqual({ action: 'metadata' });
  });
});

describe('groupNeedsRewrite', () => {
  const member = (inode: string, nlink: number, extra = {}) => ({ excluded: false, write: false, inode, nlink, ...extra });

  it('keeps a group whose names are one inode and nothing else', () => {
    expect(groupNeedsRewrite([member('1:5', 2), member('1:5', 2)])).toBe(false);
  });

  it('rewrites it when one name is written, missing, split off or linked to more', () => {
    expect(groupNeedsRewrite([member('1:5', 2, { write: true }), member('1:5', 2)])).toBe(true);
    expect(groupNeedsRewrite([member('1:5', 1), { excluded: false, write: true }])).toBe(true);
    expect(groupNeedsRewrite([member('1:5', 1), member('1:6', 1)])).toBe(true);
    expect(groupNeedsRewrite([member('1:5', 3), member('1:5', 3)])).toBe(true);
  });

  it('lets an excluded name go its own way without rewriting the others forever', () => {
    const excluded = { excluded: true, write: false };
    expect(groupNeedsRewrite([excluded, member('1:5', 2), member('1:5', 2)])).toBe(false);
    expect(groupNeedsRewrite([excluded, member('1:5', 3), member('1:5', 3)])).toBe(false);
  });
});

describe('Exclusions', () => {
  const exclusions = new Exclusions(['/kubernetes/manifests/', '.updated']);
  const rel = (text: string) => Buffer.from(text);

  it('covers the path and what is below it, anchored at the tree root', () => {
    expect(exclusions.covers(rel('kubernetes/manifests'))).toBe(true);
    expect(exclusions.covers(rel('kubernetes/manifests/pod.yaml'))).toBe(true);
    expect(exclusions.covers(rel('kubernetes/manifests.bak'))).toBe(false);
    expect(exclusions.covers(rel('kubernetes'))).toBe(false);
    expect(exclusions.covers(rel('x/.updated'))).toBe(false);
    expect(exclusions.covers(rel('.updated'))).toBe(true);
  });

  it('knows which directories hold an excluded path', () => {
    expect(exclusions.holdsExcluded(rel('kubernetes'))).toBe(true);
    expect(exclusions.holdsExcluded(rel('.'))).toBe(true);
    expect(exclusions.holdsExcluded(rel('kubernetes/manifests'))).toBe(false);
    expect(exclusions.holdsExcluded(rel('kube'))).toBe(false);
  });

  it('refuses a path that leaves the tree', () => {
    expect(() => new Exclusions(['../etc'])).toThrow(/bad excluded path/);
    expect(() => new Exclusions(['/'])).toThrow(/bad excluded path/);
  });

  it('tells the staging dir apart from names that merely start like it', () => {
    expect(isStagingPath(rel('.upgrade-recovery-staging'))).toBe(true);
    expect(isStagingPath(rel('.upgrade-recovery-staging/tree/x'))).toBe(true);
    expect(isStagingPath(rel('.upgrade-recovery-staging2'))).toBe(false);
    expect(isStagingPath(rel('a/.upgrade-recovery-staging'))).toBe(false);
  });
});

describe('LiveWalk', () => {
  it('walks in manifest order, never enters ignored paths, and skips inside a directory on request', async () => {
    const { host } = memHost({
      '/t/a/x': '1',
      '/t/a/y/z': '2',
      '/t/a.b': '3',
      '/t/b/deep/file': '4',
      '/t/c/keep': '5',
      '/t/.upgrade-recovery-staging/tree/a': '6',
    });
    const walk = new LiveWalk(host.fs, '/t', [Buffer.from('.upgrade-recovery-staging'), Buffer.from('c/keep')]);
    const seen: string[] = [];
    for (let entry = await walk.next(); entry; ) {
      seen.push(entry.rel.toString());
      entry = await walk.next(entry.rel.toString() === 'b');
    }
    expect(seen).toEqual(['.', 'a', 'a/x', 'a/y', 'a/y/z', 'a.b', 'b', 'c']);
  });

  it('is empty for a tree that is not there', async () => {
    const { host } = memHost({ '/other': '' });
    expect(await new LiveWalk(host.fs, '/t', []).next()).toBeUndefined();
  });
});

describe('describePlan', () => {
  const plan: TreePlan = {
    writes: [
      { rel: Buffer.from('hostname'), type: 'file', size: 5, sha256: SHA, reason: 'content changed', line: 0 },
      { rel: Buffer.from('new-dir'), type: 'dir', size: 0, reason: 'missing', line: 0 },
      { rel: Buffer.from([0x77, 0xff]), type: 'file', size: 5, sha256: SHA, reason: 'missing', line: 0 },
    ],
    metadata: [Buffer.from('shadow'), Buffer.from('a'), Buffer.from('b')],
    xattrsToCompare: [Buffer.from('c')],
    removals: [Buffer.from('extra')],
    touchedDirs: [Buffer.from('.')],
    blocked: [],
    staleStaging: true,
    rootMtimeNs: '0',
    entries: 10,
    bytes: 10,
  };

  it('lists what would change, with odd names escaped and a limit on examples', () => {
    expect(describePlan(plan, 2)).toEqual([
      '2 entries to write from the backup (10 B to copy):',
      '  hostname (content changed)',
      '  w\\xff (missing)',
      '1 directory to create:',
      '  new-dir (missing)',
      '1 entry to delete (a directory with all it holds):',
      '  extra',
      '3 entries with owner, mode, times, labels or ACLs to fix:',
      '  shadow',
      '  a',
      '  ... and 1 more',
      '1 entry changed since the backup in nothing but ctime, labels and ACLs compared as metadata is set:',
      '  c',
      'the staging dir of an interrupted restore to remove',
    ]);
  });

  it('gives the counts alone with a limit of 0', () => {
    expect(describePlan(plan, 0)).toEqual([
      '2 entries to write from the backup (10 B to copy)',
      '1 directory to create',
      '1 entry to delete (a directory with all it holds)',
      '3 entries with owner, mode, times, labels or ACLs to fix',
      '1 entry changed since the backup in nothing but ctime, labels and ACLs compared as metadata is set',
      'the staging dir of an interrupted restore to remove',
    ]);
  });
});
