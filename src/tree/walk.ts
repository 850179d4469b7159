// Depth-first walk of a real tree in a fixed order (children sorted by name bytes), with names as
// Buffers. The same order is used when a manifest is written and when it is checked, so the two
// can be compared in one pass without holding either in memory.
import type { BigIntStats } from 'node:fs';
import type { HostFs } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import { compareBytes, displayPath, joinName, sortedNames } from './pathBytes.js';
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
 */
export function compareWalkOrder(a: Buffer, b: Buffer): number {
  if (a.equals(ROOT_REL)) return b.equals(ROOT_REL) ? 0 : -1;
  if (b.equals(ROOT_REL)) return 1;
  let i = 0;
  let j = 0;
  for (;;) {
    const endA = indexOrEnd(a, i);
    const endB = indexOrEnd(b, j);
    const byName = compareBytes(a.subarray(i, endA), b.subarray(j, endB));
    if (byName !== 0) return byName;
    const aDone = endA >= a.length;
    const bDone = endB >= b.length;
    if (aDone || bDone) return aDone === bDone ? 0 : aDone ? -1 : 1;
    i = endA + 1;
    j = endB + 1;
  }
}

function indexOrEnd(bytes: Buffer, from: number): number {
  const at = bytes.indexOf(0x2f, from);
  return at === -1 ? bytes.length : at;
}
