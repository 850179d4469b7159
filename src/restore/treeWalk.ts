// A walk of the live tree in the manifest's order (see src/tree/walk.ts) that the planner steers:
// it never enters excluded paths or our staging dir, and skips the inside of a directory that
// goes as a whole. A restore must not read (nor stat) below what it leaves alone, and a removed
// directory of a million files costs one entry, not a million.
import type { BigIntStats } from 'node:fs';
import type { HostFs } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import { displayPath, joinName, sortedNames } from '../tree/pathBytes.js';
import { ROOT_REL, type WalkEntry } from '../tree/walk.js';
import { breathe } from '../tree/breathe.js';

interface Frame {
  abs: Buffer;
  rel: Buffer;
  names: string[];
  next: number;
}

export class LiveWalk {
  private readonly stack: Frame[] = [];
  private last: WalkEntry | undefined;
  private started = false;

  /** `ignore(rel)`: the path and everything below it is not walked. */
  constructor(
    private readonly fs: HostFs,
    private readonly root: string,
    private readonly ignore: (rel: Buffer) => boolean,
  ) {}

  /**
   * The next entry in walk order, undefined at the end. `skipInside`: do not enter the entry
   * returned last (when it is a directory). A missing root is an empty walk: the tree was deleted.
   */
  async next(skipInside = false): Promise<WalkEntry | undefined> {
    if (!this.started) {
      this.started = true;
      const abs = Buffer.from(this.root);
      const stat = lstatOrMissing(this.fs, abs);
      this.last = stat ? { rel: ROOT_REL, abs, stat } : undefined;
      return this.last;
    }
    if (this.last?.stat.isDirectory() && !skipInside) this.enter(this.last);
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
      if (this.ignore(rel)) continue;
      const abs = joinName(frame.abs, name);
      await breathe();
      const stat = lstatOrMissing(this.fs, abs);
      if (!stat) continue;
      this.last = { rel, abs, stat };
      return this.last;
    }
  }

  private enter(dir: WalkEntry): void {
    const names = sortedNames(this.fs.sync, dir.abs);
    this.stack.push({ abs: dir.abs, rel: dir.rel === ROOT_REL ? Buffer.alloc(0) : dir.rel, names, next: 0 });
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
