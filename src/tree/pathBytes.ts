import type { HostFsSync } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
// File names on Linux are bytes, not text. We carry them as Buffers end to end so that a name that
// is not valid UTF-8 round-trips instead of being mangled or skipped.

const SLASH = Buffer.from('/');
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Whether every byte is within `min`..`max` and none is `except`. Indexed: a for-of over a Buffer
 * goes through its iterator, several times slower per byte (42,000 paths: 26-49 -> 6-18 ms).
 */
export function bytesWithin(bytes: Buffer, min: number, max: number, except = -1): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte < min || byte > max || byte === except) return false;
  }
  return true;
}

export function joinPath(dir: Buffer, name: Buffer): Buffer {
  if (dir.length === 0) return Buffer.from(name);
  return Buffer.concat([dir, SLASH, name]);
}

/**
 * A directory's names as latin1 strings (one char per byte, so any name round-trips), sorted by
 * bytes: for such strings the default sort's UTF-16 order is byte order. Not Buffers: each name
 * read as a Buffer is a native allocation of its own, and a walk of a million entries left the
 * process tens of MiB of fragmented native memory for names it no longer held.
 */
export function sortedNames(fs: Pick<HostFsSync, 'readdirSync'>, dir: Buffer): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir, { encoding: 'latin1' }) as string[];
  } catch (error) {
    // The old tool's size estimate skipped unreadable directories silently; we stop and say which.
    throw new RecoveryError('failure', `cannot read directory ${displayPath(dir)}: ${(error as Error).message}`);
  }
  return names.sort();
}

/** `dir/name` for a name from sortedNames. */
export function joinName(dir: Buffer, name: string): Buffer {
  if (dir.length === 0) return Buffer.from(name, 'latin1');
  const out = Buffer.allocUnsafe(dir.length + 1 + name.length);
  dir.copy(out, 0);
  out[dir.length] = 0x2f;
  out.write(name, dir.length + 1, 'latin1');
  return out;
}

/** The name as text when it is valid UTF-8, otherwise undefined. */
export function utf8OrUndefined(bytes: Buffer): string | undefined {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Text for messages: valid UTF-8 as is, other bytes as \xNN escapes (the way `ls -b` shows them). */
export function displayPath(bytes: Buffer): string {
  const text = utf8OrUndefined(bytes);
  if (text !== undefined) return text;
  let out = '';
  for (const byte of bytes) {
    out += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** How a name is stored in JSON: `{ text }` when it is UTF-8, else `{ base64 }`. */
export type EncodedName = { text: string } | { base64: string };

export function encodeName(bytes: Buffer): EncodedName {
  const text = utf8OrUndefined(bytes);
  return text !== undefined ? { text } : { base64: bytes.toString('base64') };
}

export function decodeName(name: EncodedName): Buffer {
  return 'text' in name ? Buffer.from(name.text, 'utf8') : Buffer.from(name.base64, 'base64');
}


/**
 * A copy of `bytes` in memory of its own. Small Buffers are cut from shared 8 KiB slabs, and one
 * that is kept pins its whole slab: a restore plan that kept 50,000 paths that way held 400 MB.
 * Whatever keeps a path for long (a plan, a map) keeps a copy made here: copies are packed one
 * after the other into 64 KiB blocks that only such copies use, so kept paths cost their bytes.
 */
export function ownCopy(bytes: Buffer): Buffer {
  if (bytes.length > KEPT_BLOCK / 4) return Buffer.from(Uint8Array.prototype.slice.call(bytes).buffer);
  if (keptUsed + bytes.length > KEPT_BLOCK) {
    keptBlock = Buffer.allocUnsafeSlow(KEPT_BLOCK);
    keptUsed = 0;
  }
  const copy = keptBlock.subarray(keptUsed, keptUsed + bytes.length);
  bytes.copy(copy);
  keptUsed += bytes.length;
  return copy;
}

const KEPT_BLOCK = 64 * 1024;
let keptBlock = Buffer.allocUnsafeSlow(KEPT_BLOCK);
let keptUsed = 0;
