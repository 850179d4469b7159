// Big files are staged by our own copy, not rsync's: rsync sends every byte from its reading
// process to its writing one and checksums it on both sides, and the staged copy was then read
// once more to check its SHA-256. Here each chunk is read once, hashed, and written (runs of zeros
// left as holes, as rsync -S does): for the bench's 96 MiB binary, about half the time. Owner,
// mode, labels, ACLs and mtime are then set on the staged copy by one rsync over those files
// (src/restore/treeApply.ts), so a staged entry is still complete before it takes a live one's place.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { HostFs } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import { breathe } from '../tree/breathe.js';
import { displayPath } from '../tree/pathBytes.js';

/** Files from this size up are worth a copy of our own (below, rsync's per-file cost is what counts). */
export const HASHED_COPY_MIN_BYTES = 8 * 1024 * 1024;

const CHUNK = 1024 * 1024;
/** Holes are made block by block, as a filesystem allocates them. */
const BLOCK = 4096;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

/**
 * Whether our copy can stand in for rsync's: a regular file of the recorded size that is the only
 * name of its inode in the backup (a name of a hard-link group must be staged with the others, by
 * rsync -H, to stay one inode with them).
 */
export async function canCopyHashed(fs: HostFs, source: Buffer, size: number): Promise<boolean> {
  if (size < HASHED_COPY_MIN_BYTES) return false;
  const stat = await fs.lstat(source).catch(() => undefined);
  return stat !== undefined && stat.isFile() && stat.nlink === 1 && stat.size === size;
}

/**
 * Copies `source` to `target` (created, private to root, its directory made if missing) and
 * returns the SHA-256 of the bytes written. `what` names the copy in an error ("staging the
 * restore of etc in /etc").
 */
export async function copyHashed(fs: HostFs, source: Buffer, target: Buffer, what: string, onBytes: (n: number) => void): Promise<string> {
  const digest = createHash('sha256');
  const chunk = Buffer.allocUnsafe(CHUNK);
  try {
    await fs.mkdir(target.subarray(0, target.lastIndexOf(0x2f)), { recursive: true, mode: 0o700 });
    const input = await fs.open(source, 'r');
    try {
      const output = await fs.open(target, 'wx', 0o600);
      try {
        let position = 0;
        for (;;) {
          const { bytesRead } = await input.read(chunk, 0, CHUNK, position);
          if (bytesRead === 0) break;
          const data = chunk.subarray(0, bytesRead);
          digest.update(data);
          await writeDataRuns(output, data, position);
          position += bytesRead;
          onBytes(bytesRead);
          await breathe();
        }
        await output.truncate(position);
      } finally {
        await output.close();
      }
    } finally {
      await input.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC') throw new RecoveryError('failure', `${what}: No space left on device`);
    throw new RecoveryError('failure', `${what}: cannot copy ${displayPath(source)}: ${(error as Error).message}`);
  }
  return digest.digest('hex');
}

/** Writes the blocks of `data` that are not all zeros, each run of them in one call: the zeros stay a hole. */
async function writeDataRuns(output: FileHandle, data: Buffer, position: number): Promise<void> {
  let run = -1;
  for (let at = 0; at < data.length; at += BLOCK) {
    const block = data.subarray(at, at + BLOCK);
    const zero = block.equals(block.length === BLOCK ? ZERO_BLOCK : ZERO_BLOCK.subarray(0, block.length));
    if (!zero && run === -1) run = at;
    if (zero && run !== -1) {
      await output.write(data, run, at - run, position + run);
      run = -1;
    }
  }
  if (run !== -1) await output.write(data, run, data.length - run, position + run);
}
