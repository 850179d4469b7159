// The headers of a POSIX pax archive (ustar blocks, with pax extended records for what ustar cannot
// hold), for GNU tar to extract. A restore stages its entries by streaming such an archive into one
// `tar -x`: each entry gets the owner, mode, nanosecond mtime and xattrs its manifest line records,
// in one process, under a short flat name (no staging directories to make and remove).
//
// Only what a restore needs is written: regular files, hard links to an earlier member, symlinks,
// character and block devices, fifos, and directories (whose metadata a restore sets last). Names
// and link targets are bytes; xattr values are raw bytes (GNU tar's SCHILY.xattr records are read
// by length, so any byte passes).

import { bytesWithin } from './pathBytes.js';

export const BLOCK = 512;

export type PaxMemberType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'fifo' | 'dir';

export interface PaxMember {
  name: Buffer;
  type: PaxMemberType;
  /** Permission bits with setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of content that follow the header (regular files only). */
  size: number;
  mtimeNs: bigint;
  /** Symlink target, or the name of the earlier member a hard link is made to. */
  linkName?: Buffer;
  /** Device number of a char or block device (Linux encoding, as lstat gives it). */
  rdev?: number;
  /** Extended attributes, names to raw values. */
  xattrs?: ReadonlyArray<[string, Buffer]>;
}

const TYPEFLAG: Record<PaxMemberType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

/** The largest value an octal ustar field of `width` bytes holds (digits and a NUL). */
const octalMax = (width: number) => 8 ** (width - 1) - 1;

/** The header blocks of a member: a pax extended header when needed, then its ustar header. */
export function memberHeader(member: PaxMember): Buffer {
  const records: Array<[string, Buffer]> = [];
  const text = (value: string) => Buffer.from(value, 'utf8');
  if (member.name.length > 100 || !isAscii(member.name)) records.push(['path', member.name]);
  if (member.linkName && (member.linkName.length > 100 || !isAscii(member.linkName))) records.push(['linkpath', member.linkName]);
  if (member.uid > octalMax(8)) records.push(['uid', text(String(member.uid))]);
  if (member.gid > octalMax(8)) records.push(['gid', text(String(member.gid))]);
  if (member.size > octalMax(12)) records.push(['size', text(String(member.size))]);
  // Always: ustar holds whole seconds only.
  records.push(['mtime', text(paxTime(member.mtimeNs))]);
  for (const [name, value] of member.xattrs ?? []) records.push([`SCHILY.xattr.${name}`, value]);
  // There are always records (the mtime): one buffer for the pax header, the records padded to a
  // block, and the ustar header. Zeroed blocks from Node's shared pool (allocUnsafe, then fill), as
  // Buffer.concat's were: a zeroed Buffer.alloc is an allocation of its own per header, and a
  // million-entry restore's plan stages tens of thousands of them.
  const extended = paxRecords(records);
  const padded = Math.ceil(extended.length / BLOCK) * BLOCK;
  const blocks = Buffer.allocUnsafe(BLOCK + padded + BLOCK).fill(0);
  ustarHeader(paxHeaderOf(extended.length), blocks.subarray(0, BLOCK), 'x');
  extended.copy(blocks, BLOCK);
  ustarHeader(member, blocks.subarray(BLOCK + padded));
  return blocks;
}

const PAX_NAME = Buffer.from('PaxHeader');
/** The header of a member's pax records. */
const paxHeaderOf = (size: number): PaxMember => ({ name: PAX_NAME, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtimeNs: 0n });

/** A manifest's xattrs (values base64) as a member's raw name-value pairs. */
export function paxXattrs(recorded: Readonly<Record<string, string>> | undefined): Array<[string, Buffer]> {
  return Object.entries(recorded ?? {}).map(([name, value]) => [name, Buffer.from(value, 'base64')]);
}

/** Zero bytes that fill the last block of `size` bytes of content. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}

/** The end of an archive: two zero blocks. */
export function endOfArchive(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}

/** `seconds.nanoseconds`, negative before 1970 (-1.5 s is `-1.500000000`). */
export function paxTime(ns: bigint): string {
  const negative = ns < 0n;
  const abs = negative ? -ns : ns;
  return `${negative ? '-' : ''}${abs / 1_000_000_000n}.${String(abs % 1_000_000_000n).padStart(9, '0')}`;
}

/** `<length> <key>=<value>\n` each, the length counting itself; written into one buffer. */
function paxRecords(records: ReadonlyArray<[string, Buffer]>): Buffer {
  const lengths = records.map(([key, value]) => {
    const body = 1 + Buffer.byteLength(key) + 1 + value.length + 1; // ' ' key '=' value '\n'
    const length = body + String(body).length;
    return String(length).length !== String(body).length ? body + String(length).length : length;
  });
  const out = Buffer.allocUnsafe(lengths.reduce((sum, length) => sum + length, 0));
  let at = 0;
  records.forEach(([key, value], i) => {
    at += out.write(`${lengths[i]} ${key}=`, at, 'utf8');
    at += value.copy(out, at);
    out[at++] = 0x0a;
  });
  return out;
}

/** Writes the ustar header of `member` into `header` (one zeroed block) and returns it. */
function ustarHeader(member: PaxMember, header: Buffer, typeflag = TYPEFLAG[member.type]): Buffer {
  // A name too long or not ASCII is in the pax record; the ustar field keeps a stand-in.
  field(header, 0, 100, member.name.length <= 100 && isAscii(member.name) ? member.name : Buffer.from('PaxPath'));
  octal(header, 100, 8, member.mode & 0o7777);
  octal(header, 108, 8, Math.min(member.uid, octalMax(8)));
  octal(header, 116, 8, Math.min(member.gid, octalMax(8)));
  octal(header, 124, 12, member.type === 'file' || typeflag === 'x' ? Math.min(member.size, octalMax(12)) : 0);
  const seconds = member.mtimeNs / 1_000_000_000n;
  octal(header, 136, 12, Number(seconds < 0n ? 0n : seconds > BigInt(octalMax(12)) ? BigInt(octalMax(12)) : seconds));
  header.write(typeflag, 156, 'latin1');
  if (member.linkName) field(header, 157, 100, member.linkName.length <= 100 && isAscii(member.linkName) ? member.linkName : Buffer.from('PaxLinkPath'));
  header.write('ustar\0', 257, 'latin1');
  header.write('00', 263, 'latin1');
  if (member.type === 'char' || member.type === 'block') {
    const rdev = member.rdev ?? 0;
    octal(header, 329, 8, deviceMajor(rdev));
    octal(header, 337, 8, deviceMinor(rdev));
  }
  // The checksum is taken with its own field as spaces.
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += header[i]!;
  octal(header, 148, 7, sum);
  header[155] = 0x20;
  return header;
}

function field(header: Buffer, offset: number, width: number, value: Buffer): void {
  value.copy(header, offset, 0, Math.min(width, value.length));
}

/** `width - 1` octal digits, zero-padded, then a NUL (digits written as bytes: a header has nine such fields). */
function octal(header: Buffer, offset: number, width: number, value: number): void {
  let rest = value;
  for (let at = offset + width - 2; at >= offset; at--) {
    header[at] = 0x30 + (rest % 8);
    rest = Math.floor(rest / 8);
  }
  // The callers clamp what may be larger (ids, sizes, times go to pax records): only a device
  // number beyond any Linux driver's could get here, and a wrong one must not be written.
  if (rest !== 0) throw new Error(`${value} does not fit the ${width - 1} octal digits of a ustar field`);
  header[offset + width - 1] = 0;
}

function isAscii(bytes: Buffer): boolean {
  return bytesWithin(bytes, 0x01, 0x7e);
}

/** glibc's gnu_dev_major: the major number of a Linux dev_t. */
export function deviceMajor(rdev: number): number {
  const dev = BigInt(rdev);
  return Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
}

/** glibc's gnu_dev_minor. */
export function deviceMinor(rdev: number): number {
  const dev = BigInt(rdev);
  return Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
}
