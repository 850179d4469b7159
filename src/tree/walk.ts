// Depth-first walk of a real tree in a fixed order (children sorted by name bytes), with names as
// Buffers. The same order is used when a manifest is written and when it is checked, so the two
// can be compared in one pass without holding either in memory.
import type { BigIntStats } from 'node:fs';
import type { HostFs } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import { displayPath, joinName, sortedNames } from './pathBytes.js';
import { breathe } from './breathe.js';

export interface WalkEntry {
  /** Path relative to the walked root; '.' for the root itself. */
  rel: Buffer;
  abs: Buffer;
  stat: BigIntStats;
}

export const ROOT_REL = Buffer.from('.');

export async function* walkTree(fs: HostFs, root: string): AsyncGenerator<WalkEntry> {
  const rootAbs = Buffer.from(root);
  const rootStat = lstatOrFail(fs, rootAbs);
  yield { rel: ROOT_REL, abs: rootAbs, stat: rootStat };
  if (rootStat.isDirectory()) yield* walkChildren(fs, rootAbs, Buffer.alloc(0));
}

async function* walkChildren(fs: HostFs, dirAbs: Buffer, dirRel: Buffer): AsyncGenerator<WalkEntry> {
  for (const name of sortedNames(fs.sync, dirAbs)) {
    const abs = joinName(dirAbs, name);
    const rel = joinName(dirRel, name);
    const stat = lstatOrFail(fs, abs);
    yield { rel, abs, stat };
    if (stat.isDirectory()) yield* walkChildren(fs, abs, rel);
    await breathe();
  }
}

function lstatOrFail(fs: HostFs, abs: Buffer): BigIntStats {
  try {
    return fs.sync.lstatSync(abs, { bigint: true });
  } catch (error) {
    throw new RecoveryError('failure', `cannot stat ${displayPath(abs)}: ${(error as Error).message}`);
  }
}

/**
 * The order walkTree yields paths in: component by component, each compared by bytes. Plain byte
 * order of whole paths differs ('a.b' sorts before 'a/b'), which would break a merge of two walks.
 * Names hold neither '/' nor NUL, so comparing bytes with '/' taken as the lowest of all is the same
 * order, in one pass and without a slice per component (this runs several times per entry).
 */
export function compareWalkOrder(a: Buffer, b: Buffer): number {
  if (isRoot(a)) return isRoot(b) ? 0 : -1;
  if (isRoot(b)) return 1;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y) return (x === SLASH ? -1 : x) - (y === SLASH ? -1 : y);
  }
  return a.length - b.length;
}

const SLASH = 0x2f;
const DOT = 0x2e;

function isRoot(rel: Buffer): boolean {
  return rel.length === 1 && rel[0] === DOT;
}
