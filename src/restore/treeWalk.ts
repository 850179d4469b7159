// A walk of the live tree in the manifest's order (see src/tree/walk.ts) that the planner steers:
// it never enters excluded paths or our staging dir, and skips the inside of a directory that
// goes as a whole. A restore must not read (nor stat) below what it leaves alone, and a removed
// directory of a million files costs one entry, not a million.
//
// A big tree is walked by another thread (HostFs.scanTree, src/host/treeScan.ts), which reads and
// lstats ahead while the plan reads the manifest; the inside of a skipped directory is then walked
// there but dropped here. A small tree, or a filesystem without that (memfs), is walked here.
import type { BigIntStats } from 'node:fs';
import type { HostFs, ScanBatch, TreeScan } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import { displayPath, joinName, joinPath, sortedNames } from '../tree/pathBytes.js';
import { ROOT_REL } from '../tree/walk.js';
import { breathe } from '../tree/breathe.js';
import { nextScanBatch } from '../tree/scanBatches.js';
import { identityOf, statFields } from '../tree/describe.js';
import type { LiveFacts } from './treeCompare.js';
import { fitsOtherThread } from '../host/threadBudget.js';

/** What the plan compares of a live entry's lstat, in the forms the manifest holds. */
export interface LiveStat {
  type: LiveFacts['type'];
  /** Permission bits with setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** 0 but for files and symlinks, as the manifest records it. */
  size: number;
  nlink: number;
  rdev: number;
  mtimeNs: string;
  /** `dev:ino:ctimeNs`, compared with the identity the backup recorded. */
  identity: string;
  /** `dev:ino`: which names of a hard-link group are still one inode. */
  inode: string;
}

export class LiveEntry {
  private absolute: Buffer | undefined;

  constructor(
    readonly rel: Buffer,
    readonly stat: LiveStat,
    private readonly root: Buffer,
    abs?: Buffer,
  ) {
    this.absolute = abs;
  }

  /** Made when asked: most entries are only compared, never opened. */
  get abs(): Buffer {
    this.absolute ??= this.rel.equals(ROOT_REL) ? this.root : joinPath(this.root, this.rel);
    return this.absolute;
  }
}

/** Trees with at least this many entries (the manifest says) are walked by another thread, up to the thread budget. */
export const SCAN_MIN_ENTRIES = 4096;

/** Whether a tree of about `entries` entries is walked by another thread. */
export function walksInOtherThread(entries: number): boolean {
  return entries >= SCAN_MIN_ENTRIES && fitsOtherThread(entries);
}

export function liveStatOf(stat: BigIntStats): LiveStat {
  return { ...statFields(stat), nlink: Number(stat.nlink), rdev: Number(stat.rdev), identity: identityOf(stat), inode: `${stat.dev}:${stat.ino}` };
}

interface Frame {
  abs: Buffer;
  rel: Buffer;
  names: string[];
  next: number;
}

export class LiveWalk {
  private readonly stack: Frame[] = [];
  private readonly rootAbs: Buffer;
  private readonly ignored: Set<string>;
  private last: LiveEntry | undefined;
  private started = false;
  private readonly scan: TreeScan | undefined;
  private batch: ScanBatch | undefined;
  private inBatch = 0;
  private ended = false;
  /** `rel/` of a directory whose inside the scan still sends and this walk drops. */
  private skipping: Buffer | undefined;

  /**
   * `ignored`: paths relative to the root that are not walked, nor anything below them.
   * `scan`: walk in another thread when the filesystem can (see walksInOtherThread).
   */
  constructor(
    private readonly fs: HostFs,
    root: string,
    ignored: readonly Buffer[],
    scan = false,
  ) {
    this.rootAbs = Buffer.from(root);
    this.ignored = new Set(ignored.map((rel) => rel.toString('latin1')));
    this.scan = scan && fs.scanTree ? fs.scanTree(root, [...this.ignored], { prepared: true }) : undefined;
  }

  /**
   * The next entry in walk order, undefined at the end. `skipInside`: do not enter the entry
   * returned last (when it is a directory). A missing root is an empty walk: the tree was deleted.
   * A value rather than a promise when it is at hand (most entries of a walk in another thread come
   * in a batch already here): a promise per entry cost a plan of 30,000 entries its microtasks.
   */
  next(skipInside = false): LiveEntry | undefined | Promise<LiveEntry | undefined> {
    if (this.scan) return this.nextScanned(skipInside);
    return this.nextHere(skipInside);
  }

  private async nextHere(skipInside: boolean): Promise<LiveEntry | undefined> {
    if (!this.started) {
      this.started = true;
      const stat = lstatOrMissing(this.fs, this.rootAbs);
      this.last = stat ? new LiveEntry(ROOT_REL, liveStatOf(stat), this.rootAbs, this.rootAbs) : undefined;
      return this.last;
    }
    if (this.last?.stat.type === 'dir' && !skipInside) this.enter(this.last);
    this.last = undefined;
    for (;;) {
      const frame = this.stack.at(-1);
      if (!frame) return undefined;
      const name = frame.names[frame.next++];
      if (name === undefined) {
        this.stack.pop();
        continue;
      }
      const rel = joinName(frame.rel, name);
      if (this.ignored.has(rel.toString('latin1'))) continue;
      const abs = joinName(frame.abs, name);
      await breathe();
      const stat = lstatOrMissing(this.fs, abs);
      if (!stat) continue;
      this.last = new LiveEntry(rel, liveStatOf(stat), this.rootAbs, abs);
      return this.last;
    }
  }

  /** Ends the walk early (the other thread stops too). */
  async close(): Promise<void> {
    await this.scan?.close();
  }

  private enter(dir: LiveEntry): void {
    const names = sortedNames(this.fs.sync, dir.abs);
    this.stack.push({ abs: dir.abs, rel: dir.rel === ROOT_REL ? Buffer.alloc(0) : dir.rel, names, next: 0 });
  }

  private nextScanned(skipInside: boolean): LiveEntry | undefined | Promise<LiveEntry | undefined> {
    if (skipInside && this.last?.stat.type === 'dir') this.skipping = Buffer.concat([this.last.rel, Buffer.from('/')]);
    for (;;) {
      if (!this.batch || this.inBatch >= this.batch.rels.length) {
        if (this.ended) return (this.last = undefined);
        return this.nextBatch().then(() => this.nextScanned(false));
      }
      const b = this.batch;
      const i = this.inBatch++;
      const rel = b.rels[i] === '.' ? ROOT_REL : Buffer.from(b.rels[i]!, 'latin1');
      if (this.skipping) {
        if (rel.length > this.skipping.length && rel.compare(this.skipping, 0, this.skipping.length, 0, this.skipping.length) === 0) continue;
        this.skipping = undefined;
      }
      const stat: LiveStat = {
        type: b.types[i] as LiveStat['type'],
        mode: b.modes[i]!,
        uid: b.uids[i]!,
        gid: b.gids[i]!,
        size: b.sizes[i]!,
        nlink: b.nlinks[i]!,
        rdev: b.rdevs[i]!,
        mtimeNs: b.mtimes[i]!,
        identity: b.identities[i]!,
        inode: b.inodes[i]!,
      };
      this.last = new LiveEntry(rel, stat, this.rootAbs);
      return this.last;
    }
  }

  /** Takes the next batch from the other thread (none at the end of the walk). */
  private async nextBatch(): Promise<void> {
    const batch = await nextScanBatch(this.scan!);
    this.batch = batch;
    this.inBatch = 0;
    this.ended = batch === undefined;
  }
}

/**
 * undefined when the path is not there (a missing root, or a name gone since its directory was
 * read): the merge then treats it as missing, which is what it is.
 */
function lstatOrMissing(fs: HostFs, abs: Buffer): BigIntStats | undefined {
  try {
    return fs.sync.lstatSync(abs, { bigint: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RecoveryError('failure', `cannot stat ${displayPath(abs)}: ${(error as Error).message}`);
  }
}
