// Copies one of the node's trees into the backup with `cp -a`, which keeps everything the old
// tool's copy kept and more: owner, mode bits, nanosecond mtimes, symlinks, hard links, holes of
// sparse files, device nodes, fifos, xattrs (security.selinux) and ACLs, and any name bytes.
// `-T` copies onto the target itself: a retried copy can never nest as etc/etc (an old bug).
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError } from '../core/errors.js';
import { freeSpace, type TreeSize } from './diskSpace.js';

export const COPY_ATTEMPTS = 3;
const PROGRESS_EVERY_MS = 500;

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
    await host.fs.rm(target, { recursive: true, force: true });
    const run = await withCopyProgress(host, reporter, component, target, expected, () =>
      host.runner.run('cp', ['-a', '-T', '--', source, target]),
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
 * cp says nothing while it works, so progress is read from the target filesystem's free space:
 * one statfs per tick, whatever the number of files.
 */
async function withCopyProgress<T>(
  host: Host,
  reporter: Reporter,
  component: string,
  target: string,
  expected: TreeSize,
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
    reporter.progress({ component, activity: 'copy', files: 0, bytes: Math.min(written, expected.allocated), totalBytes: expected.allocated });
  }
}
