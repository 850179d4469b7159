// A manifest line recognised from its bytes alone as the entry the walk stands on, untouched since
// the backup: the same path, type, identity (`dev:ino:ctimeNs`) and mtime. Most lines of a restore's
// plan are such lines, and their JSON.parse and zod check were about half of the plan's own work on
// the main thread. Only a line laid out as our writer lays it out is recognised (path, type, mode,
// uid, gid, size and mtimeNs first, identity last: src/manifest/writer.ts); anything else (a name
// in pathB64 or with an escape, another order, a hard link) is parsed and checked as before.
//
// Used only on a manifest that verify checked whole in this process, line by line with zod, and
// whose lines the plan finds to hash to the same digest: a recognised line is one of those lines.
import type { LiveEntry } from './treeWalk.js';

const ENTRY_PATH = Buffer.from('{"kind":"entry","path":"');
const TYPE = Buffer.from('","type":"');
/** The numbers between type and mtime, in our writer's order: read over, not compared (the identity vouches for them). */
const NUMBERS = ['","mode":', ',"uid":', ',"gid":', ',"size":'].map((key) => Buffer.from(key));
const MTIME = Buffer.from(',"mtimeNs":"');
const IDENTITY = Buffer.from(',"identity":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const CLOSE = 0x7d;

/**
 * Whether `line` is the manifest's entry for `live`, found untouched (as untouchedSinceBackup
 * would find it). Never true for the tree root (the plan keeps its mtime) nor for a file with
 * several names: hard-link groups are settled together, from their parsed lines (and the first
 * name of a group is one of those: its inode had several names when its identity was recorded,
 * and a link or an unlink since would have moved the ctime in it).
 *
 * Plain loops over the bytes: Buffer's compare and indexOf cross into C++ at each call, and a
 * dozen such calls a line cost more than the JSON.parse they spare.
 */
export function isUntouchedLine(line: Buffer, live: LiveEntry): boolean {
  const { rel, stat } = live;
  if ((stat.type === 'file' && stat.nlink > 1) || isRoot(rel)) return false;
  let at = bytesAt(line, 0, ENTRY_PATH);
  // The path: the walk's bytes exactly, and no escape in them (JSON escapes `"`, `\` and controls).
  at = at < 0 ? -1 : pathAt(line, at, rel);
  at = at < 0 ? -1 : bytesAt(line, at, TYPE);
  at = at < 0 ? -1 : textAt(line, at, stat.type);
  for (const key of NUMBERS) {
    at = at < 0 ? -1 : bytesAt(line, at, key);
    at = at < 0 ? -1 : digitsAt(line, at);
  }
  at = at < 0 ? -1 : bytesAt(line, at, MTIME);
  at = at < 0 ? -1 : textAt(line, at, stat.mtimeNs);
  if (at < 0 || line[at] !== QUOTE) return false;
  // The identity is the last key: the line ends `,"identity":"<identity>"}`.
  const end = line.length;
  const idStart = end - 2 - stat.identity.length;
  const keyStart = idStart - IDENTITY.length;
  if (keyStart <= at || line[end - 2] !== QUOTE || line[end - 1] !== CLOSE) return false;
  // What lies between (xattrs, hashes, link targets) is not looked at. A key given twice, which
  // JSON.stringify never writes, would be taken at its last value by JSON.parse and at its first
  // here, but this line's identity is the live entry's, so the entry it is taken for is, either
  // way, one unchanged since the backup copied it: left alone, as it is here.
  return bytesAt(line, keyStart, IDENTITY) === idStart && textAt(line, idStart, stat.identity) !== -1;
}

/** The index after `bytes` if `line` holds them at `at`, else -1. */
function bytesAt(line: Buffer, at: number, bytes: Uint8Array): number {
  if (at + bytes.length > line.length) return -1;
  for (let i = 0; i < bytes.length; i++) if (line[at + i] !== bytes[i]) return -1;
  return at + bytes.length;
}

/** The index after the path `rel` if `line` holds it at `at`, closed by a quote, with no backslash in it. */
function pathAt(line: Buffer, at: number, rel: Buffer): number {
  if (at + rel.length >= line.length) return -1;
  for (let i = 0; i < rel.length; i++) {
    const byte = rel[i]!;
    if (byte === BACKSLASH || line[at + i] !== byte) return -1;
  }
  return line[at + rel.length] === QUOTE ? at + rel.length : -1;
}

/** The index after `text` (ASCII) if `line` holds it at `at`, else -1: no string made of the line. */
function textAt(line: Buffer, at: number, text: string): number {
  if (at + text.length > line.length) return -1;
  for (let i = 0; i < text.length; i++) if (line[at + i] !== text.charCodeAt(i)) return -1;
  return at + text.length;
}

/** The index after a run of at least one decimal digit at `at`, else -1. */
function digitsAt(line: Buffer, at: number): number {
  let i = at;
  while (i < line.length && line[i]! >= 0x30 && line[i]! <= 0x39) i++;
  return i > at ? i : -1;
}

function isRoot(rel: Buffer): boolean {
  return rel.length === 1 && rel[0] === 0x2e;
}
