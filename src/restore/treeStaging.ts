// Where a tree restore puts the backup's entries before they replace the live ones:
// `<liveTree>/.upgrade-recovery-staging/`. Inside the tree, because that is the one place sure to
// be writable and on the tree's own filesystem (so a rename into place is atomic): on RHCOS the
// parent of /etc is the immutable deployment root, and /var is another mount than /etc. The
// planner, the walk and the removal never look at this name; it exists only while an apply runs,
// and a killed apply's leftover is removed by the next one.
//
//   <staging>/f-<run>/<n>   the staged entries, by their index in the plan: no directories to
//                           make and remove (treeStageArchive.ts, treeStageCopy.ts)
//
// Where ext4 puts the staged files: it places a new file's inode in its directory's block group,
// and a directory's near its parent's, so every restore of a tree would stage into the same group,
// the one whose inodes the last restore's staged files hold and free again as they are replaced.
// Without a journal ext4 will not reuse an inode freed in the last minutes, and scans past each of
// them for every new file: restores one after the other (the bench's rounds) spent about 350 µs of
// the kernel's time per staged file there, against under 20 µs in a fresh group. So the staging dir is
// marked a top of unrelated hierarchies (`chattr +T`, ext4's hint to spread its subdirectories),
// and the flat dir gets a name of its own per run, which ext4 hashes to pick where to start
// looking. A hint only: other filesystems refuse it (XFS places inodes its own way), and nothing
// depends on it.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Host } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import { exists } from '../host/durable.js';
import { firstLine } from '../core/firstLine.js';

export const STAGING_NAME = '.upgrade-recovery-staging';
const STAGING_REL = Buffer.from(STAGING_NAME);

/** The staging dir's own path relative to the tree, which every step leaves out. */
export function isStagingPath(rel: Buffer): boolean {
  const n = STAGING_REL.length;
  return rel.length >= n && (rel.length === n || rel[n] === 0x2f) && rel.compare(STAGING_REL, 0, n, 0, n) === 0;
}

export class Staging {
  readonly dir: string;
  readonly flat: string;

  constructor(
    private readonly host: Host,
    liveTree: string,
  ) {
    this.dir = path.join(liveTree, STAGING_NAME);
    this.flat = path.join(this.dir, `f-${randomBytes(4).toString('hex')}`);
  }

  /** The entry staged under its index in the plan. */
  byIndex(index: number): Buffer {
    return Buffer.from(path.join(this.flat, String(index)));
  }

  async exists(): Promise<boolean> {
    return exists(this.host.fs, this.dir);
  }

  /**
   * Private to root while it holds copies of secrets on their way into place, and with no default
   * ACL: one on the tree root would be passed down to every entry staged there, and an archive
   * sets the ACLs an entry has, it does not take others away.
   */
  async create(): Promise<void> {
    await this.remove();
    await this.host.fs.mkdir(this.dir, { mode: 0o700 });
    await this.host.fs.chmod(this.dir, 0o700);
    // Its exit is not looked at: a filesystem without the flag places the files as it always does.
    await this.host.runner.run('chattr', ['+T', this.dir], { env: { LC_ALL: 'C' } });
    await this.host.fs.mkdir(this.flat, { mode: 0o700 });
    const run = await this.host.runner.run('setfattr', ['-x', 'system.posix_acl_default', this.flat], { env: { LC_ALL: 'C' } });
    if (run.exitCode !== 0 && !/No such attribute|No data available/.test(run.stderr)) {
      throw new RecoveryError('failure', `cannot remove the default ACL of the staging dir ${this.flat}: ${firstLine(run.stderr) || `exit code ${run.exitCode}`}`);
    }
  }

  async remove(): Promise<void> {
    try {
      await this.host.fs.rm(this.dir, { recursive: true, force: true });
    } catch (error) {
      throw new RecoveryError('failure', `cannot remove the staging dir ${this.dir}: ${(error as Error).message}`);
    }
  }
}
