// Checks a tree against its manifest in one pass: both are in walk order, so they are merged like
// two sorted lists. Reports every difference (up to a cap), not just the first.
import type { Host } from '../host/ports.js';
import { describeTree, identityOf, type DescribedEntry, type EntryDescription } from '../tree/describe.js';
import { compareWalkOrder, type WalkEntry } from '../tree/walk.js';
import { displayPath } from '../tree/pathBytes.js';
import { XATTR_BATCH, type Xattrs } from '../tree/xattrs.js';
import { ManifestCursor } from './manifestCursor.js';
import { verifyScanned } from './verifyScanned.js';
import { fitsOtherThread } from '../host/threadBudget.js';

/** Trees with at least this many entries are checked by a walk in another thread. */
const SCAN_MIN_ENTRIES = 2048;
import type { ManifestEntry } from './schema.js';

export interface TreeProblem {
  path: string;
  problem: string;
}

export interface TreeCheck {
  entries: number;
  problems: TreeProblem[];
  /** Problems found beyond the ones listed. */
  moreProblems: number;
  /** The digest of the manifest's lines (its footer's), once every line was read and checked whole. */
  linesDigest?: string;
}

const MAX_LISTED = 50;

export async function verifyTreeAgainstManifest(
  host: Host,
  treeDir: string,
  manifestFile: string,
  options: {
    data: boolean;
    onProgress?: (delta: { files: number; bytes: number }) => void;
    /** About how many entries the tree has (its summary's count): a small one is walked here. */
    expectedEntries?: number;
  },
): Promise<TreeCheck> {
  const check: TreeCheck = { entries: 0, problems: [], moreProblems: 0 };
  const report = (path: Buffer, problem: string) => {
    if (check.problems.length < MAX_LISTED) check.problems.push({ path: displayPath(path), problem });
    else check.moreProblems += 1;
  };
  // Another thread costs its start (tens of ms): worth it from a few thousand entries, and up to
  // what its memory allows beside a restore's (src/host/threadBudget.ts).
  const expected = options.expectedEntries ?? SCAN_MIN_ENTRIES;
  const tooBig = !fitsOtherThread(expected);
  if (host.fs.scanTree && expected >= SCAN_MIN_ENTRIES && !tooBig) {
    const { entries, linesDigest } = await verifyScanned(host, treeDir, manifestFile, options, report, describeDifference);
    return { ...check, entries, linesDigest };
  }
  const manifest = new ManifestCursor(host.fs, manifestFile);
  try {
    // What is verified may be cold on disk (after a reboot, or long after the backup): read ahead.
    const live = describeTree(host, treeDir, {
      hash: options.data,
      hashHere: tooBig,
      prefetch: true,
      knownXattrs: unchangedCopyXattrs(manifest),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    let pending: DescribedEntry | undefined = (await live.next()).value ?? undefined;
    for (let next = await manifest.take(); next; next = await manifest.take()) {
      const { rel: recordedPath, entry: recorded } = next;
      check.entries += 1;
      // Entries on disk that sort before this one are not in the manifest.
      let order = pending ? compareWalkOrder(pending.rel, recordedPath) : 1;
      while (pending && order < 0) {
        report(pending.rel, 'not in the manifest');
        pending = (await live.next()).value ?? undefined;
        order = pending ? compareWalkOrder(pending.rel, recordedPath) : 1;
      }
      if (!pending || order > 0) {
        report(recordedPath, 'missing');
        continue;
      }
      const difference = describeDifference(recorded, pending.description, options.data);
      if (difference) report(recordedPath, difference);
      pending = (await live.next()).value ?? undefined;
    }
    while (pending) {
      report(pending.rel, 'not in the manifest');
      pending = (await live.next()).value ?? undefined;
    }
    return { ...check, linesDigest: await manifest.linesDigest() };
  } finally {
    await manifest.close();
  }
}

/**
 * How far the lookup may read past the entry the merge is at: the walk runs two windows ahead of
 * it. Beyond that (a stretch of the manifest missing on disk) entries are simply read by getfattr.
 */
const MAX_LOOKAHEAD = 4 * XATTR_BATCH;

/**
 * The xattrs the manifest recorded, for entries of the backup's copy that still have the
 * `copyIdentity` it recorded: same device, inode and ctime, so nothing (no setfattr, chmod, chown,
 * write, link or rename) touched them since they were described. Any other entry, an older
 * manifest's, or a copy now on another device number, goes to getfattr.
 */
function unchangedCopyXattrs(manifest: ManifestCursor): (entries: readonly WalkEntry[]) => Promise<Array<Xattrs | undefined>> {
  // The absolute index of the manifest entry the lookup has reached (walk order, like the manifest).
  let reached = 0;
  return async (entries) => {
    const known: Array<Xattrs | undefined> = [];
    for (const entry of entries) {
      let found: Xattrs | undefined;
      // Stops at the first entry that does not sort before this one, or at the limit (then the
      // next entries start there, and wait for the merge to move on).
      for (; (reached = Math.max(reached, manifest.taken)) - manifest.taken <= MAX_LOOKAHEAD; reached++) {
        const recorded = manifest.peek(reached) ?? (await manifest.at(reached));
        const order = recorded ? compareWalkOrder(recorded.rel, entry.rel) : 1;
        if (order < 0) continue;
        const { copyIdentity, xattrs } = recorded?.entry ?? {};
        if (order === 0 && copyIdentity !== undefined && copyIdentity === identityOf(entry.stat)) found = xattrs ?? {};
        // A line that matched cannot match a later entry: the next look starts after it.
        if (order === 0) reached++;
        break;
      }
      known.push(found);
    }
    return known;
  };
}

/** The first field that differs, as words for the operator; undefined when the entry matches. */
export function describeDifference(recorded: ManifestEntry, actual: EntryDescription, data: boolean): string | undefined {
  if (recorded.type !== actual.type) return `is a ${actual.type}, expected a ${recorded.type}`;
  if (recorded.size !== actual.size) return `size ${actual.size}, expected ${recorded.size} (truncated or changed)`;
  if (recorded.mode !== actual.mode) return `mode ${octal(actual.mode)}, expected ${octal(recorded.mode)}`;
  if (recorded.uid !== actual.uid || recorded.gid !== actual.gid) {
    return `owner ${actual.uid}:${actual.gid}, expected ${recorded.uid}:${recorded.gid}`;
  }
  if (recorded.mtimeNs !== actual.mtimeNs) return 'modification time changed';
  if (recorded.target !== actual.target || recorded.targetB64 !== actual.targetB64) return 'symlink target changed';
  if (recorded.linkTo !== actual.linkTo || recorded.linkToB64 !== actual.linkToB64) return 'hard link group changed';
  if (recorded.rdev !== actual.rdev) return 'device number changed';
  if (!sameXattrs(recorded.xattrs, actual.xattrs)) return 'extended attributes changed';
  if (data && recorded.type === 'file' && recorded.sha256 !== actual.sha256) return 'content differs from its SHA-256';
  return undefined;
}

function sameXattrs(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  // The manifest's own object when the copy vouched for its xattrs (unchangedCopyXattrs).
  if (a === b) return true;
  const left = Object.entries(a ?? {}).sort(([x], [y]) => x.localeCompare(y));
  const right = Object.entries(b ?? {}).sort(([x], [y]) => x.localeCompare(y));
  return JSON.stringify(left) === JSON.stringify(right);
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}
