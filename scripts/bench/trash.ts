// Where a round's previous copy goes instead of being deleted just before the next timed command.
//
// Without a journal (as on the development machine's ext4), the kernel will not reuse an inode
// freed in the last 60 s (300 s while its inode table block is dirty): each new inode is found by
// skipping over every recently freed one (fs/ext4/ialloc.c, recently_deleted), so the 42,000 files
// of the previous copy, deleted just before, made `cp -a` of the default node take 8 to 12 s
// instead of 1.6 to 2 s, and ours as much slower; dropping the cache hides it again. A rename
// frees no inode: the copies pile up here and are deleted once nothing is timed any more (or when
// the disk runs short, which the log says).
import { statfsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Below this much free space the trash is emptied at once. */
const KEEP_FREE_BYTES = 20 * 1024 ** 3;

export class Trash {
  private count = 0;

  constructor(private readonly dir: string, private readonly log: (line: string) => void) {}

  /** Moves `target` (if it exists) into the trash; it must be on the trash's filesystem. */
  async discard(target: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    try {
      await rename(target, path.join(this.dir, String(++this.count)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const { bavail, bsize } = statfsSync(this.dir);
    if (bavail * bsize < KEEP_FREE_BYTES) {
      this.log('emptying the bench trash early (disk short): the next timed command may create files slower (see scripts/bench/trash.ts)');
      await this.empty();
    }
  }

  async empty(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
