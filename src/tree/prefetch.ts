// Reads files ahead of their hashing, several at once, so that a cold page cache does not make
// every read wait for the disk alone. The hashing reads one file after the other (synchronous
// calls: the fastest way when the data is cached); `cat` processes reading the same files in
// parallel keep several reads in flight on the disk, as the backup's parallel `cp` does, and the
// hashing then finds the data in the cache. On a warm cache they cost the other core a little.
import type { CommandRunner } from '../host/ports.js';
import { utf8OrUndefined } from './pathBytes.js';

/** Reads in flight. */
const READERS = 8;
/** Files given to one `cat`. */
const FILES_PER_READER = 256;

/**
 * Starts reading `paths` in the background. The promise gives how many KiB the system read from
 * its disks meanwhile (/proc/vmstat's pgpgin: close to none when the cache held the files), or
 * undefined if that could not be told; a failed read is only a cache not warmed, the hashing
 * reports what is wrong. Names that are not UTF-8 are left to the hashing.
 */
export function prefetchFiles(runner: CommandRunner, paths: readonly Buffer[]): Promise<number | undefined> {
  const list = paths.flatMap((p) => {
    const text = utf8OrUndefined(p);
    return text === undefined ? [] : [text];
  });
  if (list.length === 0) return Promise.resolve(undefined);
  // The paths go on stdin, NUL-separated: any name but the non-UTF-8 ones, and no length limit.
  const script = [
    'pgpgin() { while read -r key value; do [ "$key" = pgpgin ] && echo "$value" && return; done < /proc/vmstat; echo 0; }',
    'before=$(pgpgin)',
    `xargs -0 -P ${READERS} -n ${FILES_PER_READER} cat -- > /dev/null 2>&1`,
    'echo $(( $(pgpgin) - before ))',
  ].join('; ');
  return runner.run('sh', ['-c', script], { input: `${list.join('\0')}\0` }).then(
    (run) => {
      const kib = Number.parseInt(run.stdout.trim(), 10);
      return Number.isFinite(kib) ? kib : undefined;
    },
    () => undefined,
  );
}

/**
 * Whether reading ahead is worth it: once the disks gave next to nothing while a window's files
 * were read (the cache held them), the next windows are not read ahead, but every 8th is, in case
 * the tree goes on where the cache is cold.
 */
export class CacheProbe {
  private warmInARow = 0;
  private skipped = 0;

  mayBeCold(): boolean {
    return this.warmInARow === 0 || ++this.skipped % 8 === 0;
  }

  measured(files: number, reading: Promise<number | undefined>): Promise<void> {
    return reading.then((kibFromDisk) => {
      // A small file read from disk brings at least a page in: under 1 KiB a file, most were cached.
      this.warmInARow = kibFromDisk !== undefined && files >= 64 && kibFromDisk < files ? this.warmInARow + 1 : 0;
    });
  }
}
