// The restore planner's decisions, kept pure so that they can be tested without a disk: what a
// manifest entry and the live entry at the same path call for, which paths are excluded, and
// whether a hard-link group still is one inode.
import type { EntryType, ManifestEntry, ManifestEntryKeys } from '../manifest/schema.js';
import { RecoveryError } from '../core/errors.js';
import { decodeName } from '../tree/pathBytes.js';
import { ROOT_REL } from '../tree/walk.js';

/** What the planner saw at a live path (from lstat, getfattr and readlink). */
export interface LiveFacts {
  /** Never 'hardlink': on disk every name of an inode is a plain file. */
  type: Exclude<EntryType, 'hardlink'>;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: string;
  nlink: number;
  rdev: number;
  /**
   * Undefined while not read: getfattr is a process per batch, and it is only asked when nothing
   * else tells the entry apart from the backup's (see xattrsDecide).
   */
  xattrs?: Record<string, string>;
  target?: Buffer;
  /** `dev:ino:ctimeNs`, compared with the identity the backup recorded (see the manifest schema). */
  identity: string;
}

export type Verdict =
  | { action: 'none' }
  | { action: 'metadata' }
  | { action: 'write'; reason: string }
  /** Same size but the content cannot be trusted from metadata: hash the live file. */
  | { action: 'hash'; ifSame: 'none' | 'metadata' }
  /**
   * Equal to the backup's in all lstat shows, and in content, but changed since the backup (its
   * ctime): its xattrs and ACLs, not read by the plan, are compared by the metadata pass, which
   * sets them only where they differ.
   */
  | { action: 'xattrs' };

export interface CompareOptions {
  /** The entry belongs to a hard-link group of the backup: its link count is judged per group. */
  grouped: boolean;
}

/** Files this big whose mtime changed are written without being hashed (see compareEntry). */
export const WRITE_UNREAD_MIN_BYTES = 8 * 1024 * 1024;

/**
 * What a live entry calls for. With `live.xattrs` undefined they are taken to be the backup's: a
 * verdict of nothing to do is then only final once they are read (xattrsDecide, afterXattrs).
 */
export function compareEntry(recorded: ManifestEntry, live: LiveFacts, options: CompareOptions): Verdict {
  const wanted = kindOf(recorded.type);
  if (wanted !== live.type) return { action: 'write', reason: `is a ${live.type}, the backup has a ${wanted}` };
  const metadataEqual = sameMetadata(recorded, live);
  const metadataVerdict: Verdict = metadataEqual ? { action: 'none' } : { action: 'metadata' };
  switch (wanted) {
    case 'file': {
      if (recorded.size !== live.size) return { action: 'write', reason: 'content changed (size)' };
      // A name linked to something else would carry later writes over to it: it gets its own inode.
      if (!options.grouped && live.nlink > 1) return { action: 'write', reason: 'hard-linked to another file' };
      // A later name of an inode has the content of the first one, which is checked instead.
      if (recorded.type === 'hardlink') return metadataVerdict;
      // A big file whose mtime moved is written without reading it first: it most likely has other
      // content, and the hash would read all of it only to say so.
      if (recorded.mtimeNs !== live.mtimeNs && recorded.size >= WRITE_UNREAD_MIN_BYTES) return { action: 'write', reason: 'mtime changed (a big file: written, not compared)' };
      // A changed mtime says nothing about the content; equal metadata does not prove it either.
      if (recorded.mtimeNs !== live.mtimeNs || metadataEqual) return { action: 'hash', ifSame: metadataEqual ? 'none' : 'metadata' };
      return { action: 'metadata' };
    }
    case 'symlink':
      if (!recordedTarget(recorded).equals(live.target ?? Buffer.alloc(0))) return { action: 'write', reason: 'symlink target changed' };
      return metadataVerdict;
    case 'char':
    case 'block':
      if ((recorded.rdev ?? 0) !== live.rdev) return { action: 'write', reason: 'device number changed' };
      return metadataVerdict;
    default:
      return metadataVerdict;
  }
}

/**
 * The live entry is the very one the backup recorded, unchanged since (same `dev:ino:ctimeNs`, see
 * the manifest schema): its content, owner, mode and xattrs are the backup's, so it needs neither
 * getfattr nor a hash. A file also linked outside its group is still compared: it gets its own inode.
 */
export function untouchedSinceBackup(
  recorded: ManifestEntryKeys,
  live: Pick<LiveFacts, 'type' | 'identity' | 'mtimeNs' | 'nlink'>,
  options: CompareOptions,
): boolean {
  if (recorded.identity === undefined || recorded.identity !== live.identity) return false;
  if (!options.grouped && live.type === 'file' && live.nlink > 1) return false;
  // The mtime too: a clock set back could give a changed entry its old ctime, never both.
  return kindOf(recorded.type) === live.type && recorded.mtimeNs === live.mtimeNs;
}

/**
 * Whether the entry's xattrs still decide its verdict, one compared without them (as if they were
 * the backup's): only a verdict of nothing to do can turn into setting metadata. Anything else
 * (content to write, or a differing mode, owner or mtime, which sets all metadata anyway) stands
 * whatever the xattrs are, and needs no getfattr.
 */
export function xattrsDecide(verdict: Verdict): boolean {
  return verdict.action === 'none';
}

/** The verdict of an entry found equal without its xattrs, once they are read. */
export function afterXattrs(recorded: ManifestEntry, xattrs: Record<string, string>): Verdict {
  return sameXattrs(recorded.xattrs ?? {}, xattrs) ? { action: 'none' } : { action: 'metadata' };
}

/** The settled verdict once a content hash is known. */
export function afterHash(verdict: Extract<Verdict, { action: 'hash' }>, recorded: ManifestEntry, liveSha256: string): Verdict {
  if (liveSha256 !== recorded.sha256) return { action: 'write', reason: 'content changed' };
  return { action: verdict.ifSame };
}

export function kindOf(type: EntryType): Exclude<EntryType, 'hardlink'> {
  return type === 'hardlink' ? 'file' : type;
}

function sameMetadata(recorded: ManifestEntry, live: LiveFacts): boolean {
  return (
    recorded.mode === live.mode &&
    recorded.uid === live.uid &&
    recorded.gid === live.gid &&
    recorded.mtimeNs === live.mtimeNs &&
    (live.xattrs === undefined || sameXattrs(recorded.xattrs ?? {}, live.xattrs))
  );
}

function sameXattrs(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}

export function recordedTarget(entry: ManifestEntry): Buffer {
  if (entry.target !== undefined) return decodeName({ text: entry.target });
  return entry.targetB64 !== undefined ? decodeName({ base64: entry.targetB64 }) : Buffer.alloc(0);
}

export function recordedLinkTo(entry: ManifestEntryKeys): Buffer | undefined {
  if (entry.linkTo !== undefined) return decodeName({ text: entry.linkTo });
  return entry.linkToB64 !== undefined ? decodeName({ base64: entry.linkToB64 }) : undefined;
}

/** The directory holding `rel` ('.' for names at the top of the tree). */
export function parentOf(rel: Buffer): Buffer {
  const slash = rel.lastIndexOf(0x2f);
  return slash === -1 ? ROOT_REL : rel.subarray(0, slash);
}

/**
 * Paths (relative to the tree root) that a restore leaves exactly alone, with everything below
 * them: the same as rsync's anchored `--exclude=/<path>`.
 */
export class Exclusions {
  readonly paths: readonly Buffer[];

  constructor(paths: readonly string[]) {
    this.paths = paths.map(normalizeExcluded);
  }

  /** The path is excluded, or lies below an excluded path. */
  covers(rel: Buffer): boolean {
    return this.paths.some((p) => isSameOrBelow(rel, p));
  }

  /** An excluded path lies below `rel`: removing or replacing `rel` would take it along. */
  holdsExcluded(rel: Buffer): boolean {
    if (rel.equals(ROOT_REL)) return this.paths.length > 0;
    return this.paths.some((p) => p.length > rel.length && isSameOrBelow(p, rel));
  }
}

/** Compared in place: this runs for every entry against every excluded path. */
function isSameOrBelow(rel: Buffer, base: Buffer): boolean {
  if (rel.length === base.length) return rel.equals(base);
  return rel.length > base.length && rel[base.length] === 0x2f && rel.compare(base, 0, base.length, 0, base.length) === 0;
}

function normalizeExcluded(path: string): Buffer {
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.length === 0 || parts.includes('..')) {
    throw new RecoveryError('failure', `bad excluded path ${JSON.stringify(path)}: it must name something inside the tree`);
  }
  return Buffer.from(parts.join('/'));
}

/** One name of a hard-link group of the backup, as the planner found it live. */
export interface GroupMember {
  /** Excluded names are left alone: they are neither checked nor written. */
  excluded: boolean;
  /** The entry alone calls for a write (missing, other type, changed content...). */
  write: boolean;
  /** `dev:ino` of the live file, when there is one. */
  inode?: string;
  nlink?: number;
}

/**
 * Whether every name of a group must be written again so that they are one inode as in the
 * backup: when any of them is written, or they are not (only) linked to each other live.
 */
export function groupNeedsRewrite(members: readonly GroupMember[]): boolean {
  const checked = members.filter((m) => !m.excluded);
  if (checked.some((m) => m.write || m.inode === undefined)) return true;
  if (new Set(checked.map((m) => m.inode)).size > 1) return true;
  // Excluded names may or may not still share the inode; anything else linked to it is too many.
  return checked.some((m) => m.nlink! < checked.length || m.nlink! > members.length);
}
