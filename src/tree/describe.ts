// Describes every entry of a tree the way the manifest records it: type, mode, owner, size, mtime
// to the nanosecond, link target, hard-link group, device number, xattrs and content hash.
import type { BigIntStats } from 'node:fs';
import type { Host } from '../host/ports.js';
import type { EntryType, ManifestEntry } from '../manifest/schema.js';
import { encodeName } from './pathBytes.js';
import { walkTree, type WalkEntry } from './walk.js';
import { readXattrs, XATTR_BATCH, type Xattrs } from './xattrs.js';
import { hashMany } from './hashMany.js';
import { CacheProbe, prefetchFiles } from './prefetch.js';
import { awaitedLater } from '../core/awaitedLater.js';

export type EntryDescription = Omit<ManifestEntry, 'kind'>;

export interface DescribedEntry {
  rel: Buffer;
  abs: Buffer;
  description: EntryDescription;
}

export interface DescribeOptions {
  /** Read and hash file contents (a manifest, or `verify`); off for a structure-only check. */
  hash: boolean;
  /**
   * Hash in this thread, with no other thread alive meanwhile: for a tree too big for a second
   * thread's memory (src/host/threadBudget.ts).
   */
  hashHere?: boolean;
  /**
   * Read the files ahead, several at once (src/tree/prefetch.ts): for a tree that may not be in
   * the page cache (`verify --data`), not for a copy just written.
   */
  prefetch?: boolean;
  onProgress?: (delta: { files: number; bytes: number }) => void;
  /**
   * Record each entry's own `copyIdentity` with its xattrs: for a tree that vouches for itself
   * (the backup's copy, described into its manifest). See settledReadTime.
   */
  copyIdentity?: boolean;
  /**
   * Xattrs known without getfattr, for each entry of a window (called one window at a time, in
   * walk order); undefined where getfattr must read them. A check of the backup's copy passes the
   * manifest's for entries whose copy still has the copyIdentity the manifest recorded.
   */
  knownXattrs?: (entries: readonly WalkEntry[]) => Promise<ReadonlyArray<Xattrs | undefined>>;
}


/**
 * Small files: their reads are where a cold cache waits on the disk. A big file is read in order,
 * and the kernel's readahead already keeps the disk busy; reading it twice would only cost a warm run.
 */
const worthPrefetching = (entry: WalkEntry) => entry.stat.isFile() && entry.stat.size > 0n && entry.stat.size <= PREFETCH_MAX_BYTES;
const PREFETCH_MAX_BYTES = 1024n * 1024n;

/** A window of walked entries whose xattrs are being read by getfattr (and files hashed, with a hasher). */
interface Window {
  entries: WalkEntry[];
  /** For each later name of an inode, its first name: restored as links, hashed once. */
  linkTo: Array<Buffer | undefined>;
  xattrs: Promise<WindowXattrs>;
  /** Which entries are hashed, and their hashes when another thread hashes them. */
  toHash: number[];
  hashes?: Promise<string[]>;
}

interface WindowXattrs {
  xattrs: Xattrs[];
  /** With the copyIdentity option: each entry's, where its xattrs were read late enough. */
  copyIdentities?: Array<string | undefined>;
}

/**
 * Walks in windows of XATTR_BATCH entries. A window's getfattr starts as soon as it is walked and
 * runs while the window before it is described: the child process on the other core, not waited
 * on. Its files are hashed the same way, in another thread, where the filesystem has one
 * (HostFs.startHasher): that is most of the work of a manifest or of `verify --data`.
 */
export async function* describeTree(host: Host, root: string, options: DescribeOptions): AsyncGenerator<DescribedEntry> {
  const firstPathOfInode = new Map<string, Buffer>();
  const reading: Array<Promise<void>> = [];
  const cache = new CacheProbe();
  if (options.hash && options.hashHere) await host.fs.releaseSpareHasher?.();
  const hasher = options.hash && !options.hashHere ? host.fs.startHasher?.() : undefined;
  // Lookups of known xattrs run one window after the other, in walk order.
  let lookups: Promise<unknown> = Promise.resolve();
  const open = (entries: WalkEntry[]): Window => {
    if (options.hash && options.prefetch && cache.mayBeCold()) {
      const files = entries.filter(worthPrefetching).map((e) => e.abs);
      reading.push(cache.measured(files.length, prefetchFiles(host.runner, files)));
    }
    const { knownXattrs } = options;
    const known = knownXattrs ? lookups.then(() => knownXattrs(entries)) : undefined;
    if (known) lookups = known;
    const xattrs = awaitedLater(readWindowXattrs(host, entries, known, options.copyIdentity === true));
    const linkTo = entries.map((entry) => laterNameOf(entry, firstPathOfInode));
    const toHash = options.hash ? entries.flatMap((entry, i) => (entry.stat.isFile() && !linkTo[i] ? [i] : [])) : [];
    const window: Window = { entries, linkTo, xattrs, toHash };
    if (hasher && toHash.length > 0) {
      window.hashes = awaitedLater(
        hasher.hash(
          toHash.map((i) => entries[i]!.abs),
          (bytes) => options.onProgress?.({ files: 0, bytes }),
        ),
      );
    }
    return window;
  };
  try {
    let ahead: Window | undefined;
    let walked: WalkEntry[] = [];
    for await (const entry of walkTree(host.fs, root)) {
      walked.push(entry);
      if (walked.length < XATTR_BATCH) continue;
      const next = open(walked);
      walked = [];
      if (ahead) yield* describeWindow(host, ahead, options);
      ahead = next;
    }
    const last = walked.length > 0 ? open(walked) : undefined;
    if (ahead) yield* describeWindow(host, ahead, options);
    if (last) yield* describeWindow(host, last, options);
    await Promise.all(reading);
  } finally {
    await hasher?.close();
  }
}

/** A later name of an inode seen before (hard links): the first name, which it points at. */
function laterNameOf(entry: WalkEntry, firstPathOfInode: Map<string, Buffer>): Buffer | undefined {
  const { stat } = entry;
  if (!stat.isFile() || stat.nlink <= 1n) return undefined;
  const inode = `${stat.dev}:${stat.ino}`;
  const first = firstPathOfInode.get(inode);
  if (!first) firstPathOfInode.set(inode, entry.rel);
  return first;
}

async function* describeWindow(host: Host, window: Window, options: DescribeOptions): AsyncGenerator<DescribedEntry> {
  const { entries } = window;
  const { xattrs, copyIdentities } = await window.xattrs;
  const descriptions = entries.map((entry, i) => baseDescription(entry, xattrs[i] ?? {}, window.linkTo[i]));
  copyIdentities?.forEach((identity, i) => {
    if (identity) descriptions[i]!.copyIdentity = identity;
  });
  for (const [i, description] of descriptions.entries()) {
    if (description.type !== 'symlink') continue;
    const target = host.fs.sync.readlinkSync(entries[i]!.abs, { encoding: 'buffer' });
    Object.assign(description, pathField('target', target));
  }
  const { toHash } = window;
  if (window.hashes) {
    (await window.hashes).forEach((sha256, n) => (descriptions[toHash[n]!]!.sha256 = sha256));
    options.onProgress?.({ files: toHash.length, bytes: 0 });
  } else if (toHash.length > 0) {
    await hashMany(
      host.fs,
      toHash.map((i) => entries[i]!.abs),
      (n, sha256) => (descriptions[toHash[n]!]!.sha256 = sha256),
      options.onProgress,
    );
  }
  for (let i = 0; i < entries.length; i++) {
    yield { rel: entries[i]!.rel, abs: entries[i]!.abs, description: descriptions[i]! };
  }
}

/** getfattr over the entries of a window whose xattrs are not known otherwise. */
async function readWindowXattrs(
  host: Host,
  entries: readonly WalkEntry[],
  known: Promise<ReadonlyArray<Xattrs | undefined>> | undefined,
  copyIdentity: boolean,
): Promise<WindowXattrs> {
  const recorded = known ? await known : [];
  const unknown = entries.flatMap((_, i) => (recorded[i] ? [] : [i]));
  const readAt = copyIdentity ? await settledReadTime(host, entries) : undefined;
  const read = unknown.length > 0 ? await readXattrs(host.fs, host.runner, unknown.map((i) => entries[i]!.abs)) : [];
  const xattrs = entries.map((_, i) => recorded[i] ?? {});
  unknown.forEach((i, k) => (xattrs[i] = read[k] ?? {}));
  if (readAt === undefined) return { xattrs };
  return { xattrs, copyIdentities: entries.map(({ stat }) => (stat.ctimeNs + SETTLE_NS <= readAt ? identityOf(stat) : undefined)) };
}

/**
 * Kernel timestamps are coarse (a clock tick, a few when the tick is late): a change made just
 * after an entry's last one can leave its ctime as it was. Xattrs read at least this long after
 * the entry's ctime are vouched for by it, since any later change gives a later ctime.
 */
const SETTLE_NS = 100_000_000n;

/**
 * When the getfattr of a window may start, in ns since the epoch: for a copy just written (its
 * newest ctime within SETTLE_NS of now), after waiting that out, once per tree in practice.
 */
async function settledReadTime(host: Host, entries: readonly WalkEntry[]): Promise<bigint> {
  const now = () => BigInt(host.clock.now().getTime()) * 1_000_000n;
  let newest = 0n;
  for (const { stat } of entries) if (stat.ctimeNs > newest) newest = stat.ctimeNs;
  const wait = newest + SETTLE_NS - now();
  // A ctime further ahead means a clock set back: not waited for (and not vouched for).
  if (wait > 0n && wait <= SETTLE_NS) await host.clock.sleep(Math.ceil(Number(wait) / 1e6) + 1);
  return now();
}

function baseDescription(entry: WalkEntry, xattrs: Record<string, string>, linkTo: Buffer | undefined): EntryDescription {
  const { stat } = entry;
  const fields = statFields(stat);
  const type: EntryType = fields.type;
  const description: EntryDescription = { ...pathField('path', entry.rel), ...fields };
  if (Object.keys(xattrs).length > 0) description.xattrs = xattrs;
  if (type === 'char' || type === 'block') description.rdev = Number(stat.rdev);
  if (linkTo) {
    // Later names of an inode point at the first one: restored as links, hashed once.
    description.type = 'hardlink';
    Object.assign(description, pathField('linkTo', linkTo));
  }
  return description;
}

/** What the manifest records of an entry's lstat, the same for a backup and a live tree. */
export function statFields(stat: BigIntStats) {
  const type = typeOfStat(stat);
  return {
    type,
    mode: Number(stat.mode & 0o7777n),
    uid: Number(stat.uid),
    gid: Number(stat.gid),
    size: type === 'file' || type === 'symlink' ? Number(stat.size) : 0,
    mtimeNs: stat.mtimeNs.toString(),
  };
}

/** `dev:ino:ctimeNs`: what a file is, in the manifest's `identity` field. */
export function identityOf(stat: BigIntStats): string {
  return `${stat.dev}:${stat.ino}:${stat.ctimeNs}`;
}

/** The manifest's type for what lstat saw (a hard link is decided from inode numbers, not here). */
export function typeOfStat(stat: BigIntStats): Exclude<EntryType, 'hardlink'> {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'dir';
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isCharacterDevice()) return 'char';
  if (stat.isBlockDevice()) return 'block';
  if (stat.isFIFO()) return 'fifo';
  return 'socket';
}

/** `{ path: text }` or `{ pathB64: base64 }` (same for target and linkTo). */
export function pathField<K extends 'path' | 'target' | 'linkTo'>(key: K, bytes: Buffer): Partial<EntryDescription> {
  const name = encodeName(bytes);
  return 'text' in name ? { [key]: name.text } : { [`${key}B64`]: name.base64 };
}
