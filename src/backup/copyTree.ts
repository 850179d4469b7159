// Copies one of the node's trees into the backup with `cp -a`, which keeps everything the old
// tool's copy kept and more: owner, mode bits, nanosecond mtimes, symlinks, hard links, holes of
// sparse files, device nodes, fifos, xattrs (security.selinux) and ACLs, and any name bytes.
// `-T` copies onto the target itself: a retried copy can never nest as etc/etc (an old bug).
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError } from '../core/errors.js';
import { exists } from '../host/durable.js';
import { freeSpace, type TreeSize } from './diskSpace.js';

export const COPY_ATTEMPTS = 3;
const PROGRESS_EVERY_MS = 500;
const NEWLINE = 0x0a;

export async function copyTree(
  host: Host,
  reporter: Reporter,
  component: string,
  source: string,
  target: string,
  expected: TreeSize,
): Promise<void> {
  let lastError = '';
  for (let attempt = 1; attempt <= COPY_ATTEMPTS; attempt++) {
    await clearTarget(host, target);
    const counted = { entries: 0 };
    const run = await withCopyProgress(host, reporter, component, target, expected, counted, () =>
      // -v prints one line per entry copied: counting them gives the files half of the progress.
      host.runner.run('cp', ['-a', '-v', '-T', '--', source, target], {
        onStdout: (chunk) => {
          for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, at + 1)) counted.entries += 1;
        },
      }),
    );
    if (run.exitCode === 0) return;
    lastError = run.stderr.trim().split('\n').slice(0, 3).join(' | ');
    if (/No space left on device/.test(run.stderr)) break;
    // Files that change or vanish while a live tree is copied make cp fail; the old tool retried too.
    reporter.warn(`copy of ${source} failed (attempt ${attempt} of ${COPY_ATTEMPTS}): ${lastError}`);
  }
  throw new RecoveryError('failure', `could not copy ${source}: ${lastError}`);
}

/**
 * Removes what an earlier attempt (or a killed run) left at the target. It is renamed aside first:
 * a `cp` orphaned by a killed run may still be writing, and after the rename its writes fail
 * instead of landing in the new copy.
 */
async function clearTarget(host: Host, target: string): Promise<void> {
  if (!(await exists(host.fs, target))) return;
  const aside = `${target}.discarded-${host.clock.now().getTime()}`;
  await host.fs.rename(target, aside);
  await host.fs.rm(aside, { recursive: true, force: true });
}

/**
 * Bytes are read from the target filesystem's free space (one statfs per tick, whatever the number
 * of files), entries from cp's own count.
 */
async function withCopyProgress<T>(
  host: Host,
  reporter: Reporter,
  component: string,
  target: string,
  expected: TreeSize,
  counted: { entries: number },
  work: () => Promise<T>,
): Promise<T> {
  const parent = target.slice(0, target.lastIndexOf('/')) || '/';
  const freeAtStart = await freeSpace(host, parent);
  const work$ = work();
  let done = false;
  void work$.finally(() => (done = true)).catch(() => undefined);
  for (;;) {
    // Wake up at the next tick or as soon as the copy ends, whichever comes first.
    await Promise.race([host.clock.sleep(PROGRESS_EVERY_MS), work$.catch(() => undefined)]);
    if (done) return work$;
    const written = Math.max(0, freeAtStart - (await freeSpace(host, parent).catch(() => freeAtStart)));
    reporter.progress({
      component,
      activity: 'copy',
      files: Math.min(counted.entries, expected.entries),
      totalFiles: expected.entries,
      bytes: Math.min(written, expected.allocated),
      totalBytes: expected.allocated,
    });
  }
}
