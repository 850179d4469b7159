// How one tree is cut into pieces that several `cp -a` processes copy at the same time. On a cold
// page cache a copy of small files waits on the disk one file at a time; four copies keep four
// reads in flight (measured on the bench node's /etc: 4.2 s with one cp, 1.7 s with four).
//
// A unit is a subtree (or a single entry) that one cp copies whole; a directory with more entries
// than a unit holds is split: it is created first and its children become units. Two limits keep
// the result exactly what one `cp -a` makes:
// - cp keeps hard links only among the files of one process, so units that share an inode always
//   go to the same process;
// - units are passed to cp as arguments (text), so a directory with a child whose name is not
//   UTF-8 is never split; if such a directory is too big to be one unit and a directory below it
//   was split already, the whole tree is copied by one cp, as before.
// A directory of many files and few subdirectories (a kubelet volume of a thousand files) is kept
// whole too: cut, each of its files would be a unit, and a million files a million arguments.
import { utf8OrUndefined } from '../tree/pathBytes.js';

/** Entries above which a directory is split. */
export const UNIT_ENTRIES = 1000;
/** Files directly in a directory above which it is not split (unless a directory below it was). */
export const LOOSE_FILES = 256;
/** Entries one cp process is given at most, unless hard links tie more together. */
export const JOB_ENTRIES = 4000;
/** Bytes of arguments one cp process is given at most (well under ARG_MAX). */
const JOB_ARG_BYTES = 128 * 1024;

export type CopyPlan =
  | { kind: 'whole' }
  | {
      kind: 'split';
      /** Directories created before the copies, parents first; '.' is the tree's root. */
      dirs: string[];
      /** Each job is one `cp -a --parents` of these paths, relative to the tree's root. */
      jobs: string[][];
    };

interface Unit {
  rel: string;
  entries: number;
  /** Position in the walk: units are copied in walk order, near each other on the disk. */
  order: number;
}

interface OpenDir {
  rel: Buffer;
  /** The path as text, undefined when some name in it is not UTF-8 (decoded once, in add). */
  text: string | undefined;
  /** Entries in the subtree so far, itself included. */
  entries: number;
  /** Children that will be units if this directory is split. */
  children: Unit[];
  /** A child's name is not UTF-8: this directory can only be copied whole. */
  whole: boolean;
  /** Children that are not directories. */
  files: number;
  /** A directory below was split: this one cannot be a unit any more. */
  splitBelow: boolean;
  order: number;
}

export class CopyPlanBuilder {
  private readonly stack: OpenDir[] = [];
  private readonly units: Unit[] = [];
  private readonly splitDirs: string[] = [];
  /** Hard-linked entries: `dev:ino` and their paths, matched to units at the end. */
  private readonly links: Array<{ key: string; rel: string }> = [];
  private fallBack = false;
  private seen = 0;

  constructor(private readonly unitEntries = UNIT_ENTRIES, private readonly jobEntries = JOB_ENTRIES) {}

  /**
   * Takes the entries of a walk (depth first, parents before children), root first: whether each
   * is a directory, and for a file with several names its `dev:ino` (undefined otherwise).
   */
  add(rel: Buffer, directory: boolean, linkKey: string | undefined): void {
    const order = this.seen++;
    const text = utf8OrUndefined(rel);
    if (this.stack.length === 0) {
      this.stack.push({ rel, text, entries: 1, children: [], whole: false, files: 0, splitBelow: false, order });
      if (!directory) this.fallBack = true;
      return;
    }
    while (this.stack.length > 1 && !isInside(rel, this.stack.at(-1)!.rel)) this.close();
    const parent = this.stack.at(-1)!;
    // A path is text when every name in it is ('/' is never inside a UTF-8 character): only the
    // parent of a non-UTF-8 name is held whole.
    if (text === undefined && utf8OrUndefined(lastName(rel)) === undefined) parent.whole = true;
    if (linkKey !== undefined && text !== undefined) this.links.push({ key: linkKey, rel: text });
    if (directory) {
      this.stack.push({ rel, text, entries: 1, children: [], whole: false, files: 0, splitBelow: false, order });
    } else {
      parent.entries += 1;
      parent.files += 1;
      if (text !== undefined) parent.children.push({ rel: text, entries: 1, order });
    }
  }

  finish(): CopyPlan {
    while (this.stack.length > 1) this.close();
    const root = this.stack.pop();
    if (!root || this.fallBack || this.keptWhole(root)) return { kind: 'whole' };
    this.split(root);
    // Directories are split as they close, children first: reversed, parents come first.
    return { kind: 'split', dirs: this.splitDirs.reverse(), jobs: this.jobs() };
  }

  private close(): void {
    const dir = this.stack.pop()!;
    const parent = this.stack.at(-1)!;
    parent.entries += dir.entries;
    if (!this.keptWhole(dir)) {
      this.split(dir);
      parent.splitBelow = true;
      return;
    }
    // Held whole for its odd name, but its split parts are units already: no plan fits.
    if (dir.whole && dir.splitBelow) this.fallBack = true;
    if (dir.splitBelow) parent.splitBelow = true;
    if (dir.text !== undefined) parent.children.push({ rel: dir.text, entries: dir.entries, order: dir.order });
  }

  /** Small enough, holding an odd name, or holding many files and no split directory. */
  private keptWhole(dir: OpenDir): boolean {
    if (dir.whole) return true;
    if (dir.entries <= this.unitEntries) return true;
    return dir.files > LOOSE_FILES && !dir.splitBelow;
  }

  /** The directory is created by us, its children are units. */
  private split(dir: OpenDir): void {
    this.splitDirs.push(dir.text ?? '.');
    this.units.push(...dir.children);
  }

  /**
   * Units in walk order, cut into jobs of about `jobEntries`; units joined by a hard link are one
   * group and the group goes to one job, whatever its size.
   */
  private jobs(): string[][] {
    this.units.sort((a, b) => a.order - b.order);
    const group = new UnionFind(this.units.length);
    const unitOf = new Map(this.units.map((unit, index) => [unit.rel, index]));
    const firstUnitOf = new Map<string, number>();
    for (const link of this.links) {
      const unit = owningUnit(link.rel, unitOf);
      if (unit === undefined) continue;
      const first = firstUnitOf.get(link.key);
      if (first === undefined) firstUnitOf.set(link.key, unit);
      else group.union(first, unit);
    }
    const members = new Map<number, number[]>();
    this.units.forEach((_, index) => {
      const root = group.find(index);
      const list = members.get(root);
      if (list) list.push(index);
      else members.set(root, [index]);
    });
    const jobs: string[][] = [];
    let job: string[] = [];
    let entries = 0;
    let argBytes = 0;
    for (const indexes of members.values()) {
      const groupEntries = indexes.reduce((sum, i) => sum + this.units[i]!.entries, 0);
      const groupBytes = indexes.reduce((sum, i) => sum + Buffer.byteLength(this.units[i]!.rel) + 1, 0);
      if (job.length && (entries + groupEntries > this.jobEntries || argBytes + groupBytes > JOB_ARG_BYTES)) {
        jobs.push(job);
        job = [];
        entries = 0;
        argBytes = 0;
      }
      for (const i of indexes) job.push(this.units[i]!.rel);
      entries += groupEntries;
      argBytes += groupBytes;
    }
    if (job.length) jobs.push(job);
    return jobs;
  }
}

const SLASH = 0x2f;

function isInside(rel: Buffer, dir: Buffer): boolean {
  return rel.length > dir.length && rel[dir.length] === SLASH && rel.subarray(0, dir.length).equals(dir);
}

function lastName(rel: Buffer): Buffer {
  return rel.subarray(rel.lastIndexOf(SLASH) + 1);
}

/** The unit that holds `rel`: itself, or the nearest ancestor that is a unit. */
function owningUnit(rel: string, unitOf: Map<string, number>): number | undefined {
  for (let path = rel; ; ) {
    const unit = unitOf.get(path);
    if (unit !== undefined) return unit;
    const slash = path.lastIndexOf('/');
    if (slash === -1) return undefined;
    path = path.slice(0, slash);
  }
}

class UnionFind {
  private readonly parent: Int32Array;
  constructor(size: number) {
    this.parent = Int32Array.from({ length: size }, (_, i) => i);
  }
  find(i: number): number {
    while (this.parent[i] !== i) {
      this.parent[i] = this.parent[this.parent[i]!]!;
      i = this.parent[i]!;
    }
    return i;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    // The smaller index stays the root: a group keeps the place of its first unit.
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}
