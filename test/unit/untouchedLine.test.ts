// The recognition of a manifest line from its bytes (src/restore/untouchedLine.ts): exactly the
// lines our writer lays out for the entry the walk stands on, untouched; any other line is left to
// JSON.parse and zod, never settled wrongly.
import { describe, expect, it } from 'vitest';
import { LiveEntry, type LiveStat } from '../../src/restore/treeWalk.js';
import { isUntouchedLine } from '../../src/restore/untouchedLine.js';

const IDENTITY = '65024:2187297:1796181595088430760';
const MTIME = '1722199934503638982';

/** A line as the backup writes it (src/backup/treeManifest.ts's key order), with `extra` keys last. */
function line(fields: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Buffer {
  const entry = {
    kind: 'entry',
    path: 'NetworkManager/conf.d/a.conf',
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 1118,
    mtimeNs: MTIME,
    xattrs: { 'security.selinux': 'c3lzdGVtX3U6b2JqZWN0X3I6ZXRjX3Q6czA=' },
    copyIdentity: '65024:2386560:1796181600912526798',
    sha256: 'e'.repeat(64),
    target: undefined as string | undefined,
    identity: IDENTITY,
    ...fields,
  };
  return Buffer.from(JSON.stringify({ ...entry, ...extra }));
}

function live(rel = 'NetworkManager/conf.d/a.conf', stat: Partial<LiveStat> = {}): LiveEntry {
  const full: LiveStat = { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 1118, nlink: 1, rdev: 0, mtimeNs: MTIME, identity: IDENTITY, inode: '65024:2187297', ...stat };
  return new LiveEntry(Buffer.from(rel, 'latin1'), full, Buffer.from('/etc'));
}

describe('isUntouchedLine', () => {
  it("recognises the writer's line of the entry the walk stands on, with the same identity and mtime", () => {
    expect(isUntouchedLine(line(), live())).toBe(true);
    const dir = line({ path: 'NetworkManager', type: 'dir', size: 0, sha256: undefined });
    expect(isUntouchedLine(dir, live('NetworkManager', { type: 'dir', size: 0 }))).toBe(true);
    const noXattrs = line({ path: 'l', type: 'symlink', size: 9, xattrs: undefined, sha256: undefined, target: 'somewhere' });
    expect(isUntouchedLine(noXattrs, live('l', { type: 'symlink', size: 9 }))).toBe(true);
    // Mode, owner and size are not compared here: the identity (its ctime) vouches for them.
    expect(isUntouchedLine(line({ mode: 0o600, size: 5 }), live())).toBe(true);
  });

  it('leaves to the parse a line of another path, type, identity or mtime', () => {
    for (const rel of ['NetworkManager/conf.d/a.con', 'NetworkManager/conf.d/a.conf2', 'NetworkManager/conf.d/b.conf']) expect(isUntouchedLine(line(), live(rel))).toBe(false);
    expect(isUntouchedLine(line(), live(undefined, { type: 'dir' }))).toBe(false);
    expect(isUntouchedLine(line({ type: 'hardlink', linkTo: 'x' }), live())).toBe(false);
    for (const identity of ['65024:2187297:1796181595088430761', '65024:2187298:1796181595088430760', '1:2187297:1796181595088430760']) {
      expect(isUntouchedLine(line(), live(undefined, { identity }))).toBe(false);
    }
    expect(isUntouchedLine(line({ mtimeNs: '1722199934503638983' }), live())).toBe(false);
    expect(isUntouchedLine(line({ identity: undefined }), live())).toBe(false);
  });

  it('leaves to the parse the root, a file with several names, and names JSON escapes or cannot hold', () => {
    expect(isUntouchedLine(line({ path: '.', type: 'dir', size: 0 }), live('.', { type: 'dir', size: 0 }))).toBe(false);
    expect(isUntouchedLine(line(), live(undefined, { nlink: 2 }))).toBe(false);
    for (const rel of ['back\\slash', 'q"uote', 'tab\there']) expect(isUntouchedLine(line({ path: rel }), live(rel))).toBe(false);
    // The escaped form of `a"` read as raw bytes is `a\"`: a live name spelled so is not that entry.
    expect(isUntouchedLine(line({ path: 'a"' }), live('a\\"'))).toBe(false);
    const b64 = line({ path: undefined, pathB64: Buffer.from([0x6f, 0xff]).toString('base64') });
    expect(isUntouchedLine(b64, live(Buffer.from([0x6f, 0xff]).toString('latin1')))).toBe(false);
  });

  it('leaves to the parse a line laid out otherwise: another key order, the identity not last, anything after it', () => {
    const reordered = Buffer.from(JSON.stringify({ path: 'NetworkManager/conf.d/a.conf', kind: 'entry', type: 'file', mode: 420, uid: 0, gid: 0, size: 1118, mtimeNs: MTIME, identity: IDENTITY }));
    expect(isUntouchedLine(reordered, live())).toBe(false);
    const identityNotLast = Buffer.from(JSON.stringify({ ...JSON.parse(line().toString()), identity: undefined, last: 1 }).replace('"last":1', `"identity":"${IDENTITY}","last":1`));
    expect(isUntouchedLine(identityNotLast, live())).toBe(false);
    // Whatever lies between is not looked at: xattrs, hashes, a link's target.
    expect(isUntouchedLine(line({ xattrs: { 'user.a': 'type', 'user."path"': 'x' }, target: '"mtimeNs":"1"' }), live())).toBe(true);
    expect(isUntouchedLine(Buffer.concat([line(), Buffer.from(' ')]), live())).toBe(false);
  });
});
