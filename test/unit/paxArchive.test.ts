// The pax headers a restore streams into tar: checksum, octal fields, the records ustar cannot
// hold, device numbers. Extraction by the real GNU tar is proven in the tree restore tests.
import { describe, expect, it } from 'vitest';
import { BLOCK, deviceMajor, deviceMinor, memberHeader, padding, paxTime, type PaxMember } from '../../src/tree/paxArchive.js';

const file = (extra: Partial<PaxMember> = {}): PaxMember => ({ name: Buffer.from('17'), type: 'file', mode: 0o644, uid: 0, gid: 0, size: 5, mtimeNs: 1_700_000_000_123_456_789n, ...extra });

/** The ustar header blocks of a member, and its pax records (key -> raw value). */
function parse(header: Buffer): { ustar: Buffer; records: Map<string, Buffer> } {
  const records = new Map<string, Buffer>();
  if (header[156] !== 'x'.charCodeAt(0)) return { ustar: header, records };
  const size = Number.parseInt(header.toString('latin1', 124, 135), 8);
  const body = header.subarray(BLOCK, BLOCK + size);
  for (let at = 0; at < body.length; ) {
    const space = body.indexOf(0x20, at);
    const length = Number(body.toString('latin1', at, space));
    const record = body.subarray(space + 1, at + length - 1);
    const eq = record.indexOf(0x3d);
    records.set(record.toString('latin1', 0, eq), record.subarray(eq + 1));
    expect(body[at + length - 1]).toBe(0x0a);
    at += length;
  }
  return { ustar: header.subarray(BLOCK + size + padding(size).length), records };
}

function checksumOk(block: Buffer): boolean {
  const copy = Buffer.from(block);
  copy.fill(0x20, 148, 156);
  const sum = [...copy].reduce((a, b) => a + b, 0);
  return Number.parseInt(block.toString('latin1', 148, 154), 8) === sum;
}

describe('memberHeader', () => {
  it('writes a ustar header with a valid checksum and the nanosecond mtime as a pax record', () => {
    const { ustar, records } = parse(memberHeader(file({ mode: 0o4755, uid: 12, gid: 34 })));
    expect(ustar.length).toBe(BLOCK);
    expect(checksumOk(ustar)).toBe(true);
    expect(ustar.toString('latin1', 0, 2)).toBe('17');
    expect(ustar.toString('latin1', 100, 107)).toBe('0004755');
    expect(ustar.toString('latin1', 108, 115)).toBe('0000014');
    expect(ustar.toString('latin1', 124, 135)).toBe('00000000005');
    expect(ustar.toString('latin1', 156, 157)).toBe('0');
    expect(ustar.toString('latin1', 257, 263)).toBe('ustar\0');
    expect(records.get('mtime')!.toString()).toBe('1700000000.123456789');
  });

  it('puts in records what ustar cannot hold: big ids, long or non-ASCII link targets, raw xattr values', () => {
    const target = Buffer.concat([Buffer.from('/x/'), Buffer.from([0xff, 0xfe]), Buffer.alloc(120, 0x61)]);
    const acl = Buffer.from([2, 0, 0, 0, 1, 0, 6, 0, 0xff, 0xff, 0xff, 0xff, 0x0a, 0x3d, 0x20]);
    const { ustar, records } = parse(memberHeader(file({ type: 'symlink', size: 0, uid: 1_000_680_000, gid: 3_000_000, linkName: target, xattrs: [['system.posix_acl_access', acl], ['security.selinux', Buffer.from('system_u:object_r:etc_t:s0\0')]] })));
    expect(checksumOk(ustar)).toBe(true);
    expect(ustar.toString('latin1', 156, 157)).toBe('2');
    expect(records.get('uid')!.toString()).toBe('1000680000');
    expect(records.get('gid')!.toString()).toBe('3000000');
    expect(records.get('linkpath')).toEqual(target);
    expect(records.get('SCHILY.xattr.system.posix_acl_access')).toEqual(acl);
    expect(records.get('SCHILY.xattr.security.selinux')!.toString('latin1')).toBe('system_u:object_r:etc_t:s0\0');
  });

  it('counts each record length with its own digits, also where they roll over', () => {
    // Values whose record is 9/10 and 99/100 bytes long around the digit boundary.
    for (let n = 0; n < 120; n++) {
      const { records } = parse(memberHeader(file({ xattrs: [['user.a', Buffer.alloc(n, 0x62)]] })));
      expect(records.get('SCHILY.xattr.user.a')!.length).toBe(n);
    }
  });

  it('writes device numbers as major and minor, and no size for what has no content', () => {
    const rdev = (major: number, minor: number) => ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12);
    expect([deviceMajor(rdev(259, 1)), deviceMinor(rdev(259, 1))]).toEqual([259, 1]);
    expect([deviceMajor(rdev(8, 300)), deviceMinor(rdev(8, 300))]).toEqual([8, 300]);
    const { ustar } = parse(memberHeader(file({ type: 'char', size: 0, rdev: rdev(259, 1) })));
    expect(ustar.toString('latin1', 156, 157)).toBe('3');
    expect(ustar.toString('latin1', 329, 336)).toBe('0000403');
    expect(ustar.toString('latin1', 337, 344)).toBe('0000001');
    expect(ustar.toString('latin1', 124, 135)).toBe('00000000000');
    expect(parse(memberHeader(file({ type: 'link', size: 0, linkName: Buffer.from('3') }))).ustar.toString('latin1', 157, 158)).toBe('3');
    // A major number of 2^21 needs 8 octal digits where ustar has 7: refused, never written cut.
    expect(() => memberHeader(file({ type: 'block', size: 0, rdev: 2 ** 53 }))).toThrow(/does not fit the 7 octal digits/);
  });

  it('writes times before 1970 and to the nanosecond', () => {
    expect(paxTime(-1_500_000_000n)).toBe('-1.500000000');
    expect(paxTime(0n)).toBe('0.000000000');
    expect(paxTime(1n)).toBe('0.000000001');
  });
});
