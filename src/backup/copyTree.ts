// Copies one of the node's trees into the backup with `cp -a`, which keeps everything the old
// tool's copy kept and more: owner, mode bits, nanosecond mtimes, symlinks, hard links, holes of
// sparse files, device nodes, fifos, xattrs (security.selinux) and ACLs, and any name bytes.
// `-T` copies onto the target itself: a retried copy can never nest as etc/etc (an old bug).
// A big tree is cut into parts copied by several cp processes at once (copyPlan.ts).
import type { CommandResult, Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError } from '../core/errors.js';
import { exists } from '../host/durable.js';
import { freeSpace, type TreeSize } from './diskSpace.js';
import type { CopyPlan } from './copyPlan.js';
import type { Slots } from '../core/slots.js';

export const COPY_ATTEMPTS = 3;
/** cp processes at once, over all trees: four reads in flight wherever the disk is. */
export const COPY_PROCESSES = 4;
const PROGRESS_EVERY_MS = 500;
const NEWLINE = 0x0a;

export interface CopyRequest {
  component: string;
  source: string;
  target: string;
  expected: TreeSize;
  /** How the tree is cut into parallel copies (see copyPlan.ts); `whole` is one cp. */
  plan: CopyPlan;
  /** Shared by the copies of all trees. */
  slots: Slots;
  /** Entries cp has printed, added to by every copy of a group (see reportCopyProgress). */
  counted: { entries: number };
}

export async function copyTree(host: Host, reporter: Reporter, request: CopyRequest): Promise<void> {
  const { source, target } = request;
  let lastError = '';
  for (let attempt = 1; attempt <= COPY_ATTEMPTS; attempt++) {
    await clearTarget(host, target);
    const { counted } = request;
    const onStdout = (chunk: Buffer) => {
      // -v prints one line per entry copied: counting them gives the files half of the progress.
      for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, at + 1)) counted.entries += 1;
    };
    // A failed attempt may come from a tree that changed since it was measured: the next one
    // copies it whole, as one cp sees it now.
    const plan = attempt === 1 ? request.plan : { kind: 'whole' as const };
    const failure =
      plan.kind === 'whole'
        ? await request.slots.use(() => host.runner.run('cp', ['-a', '-v', '-T', '--', source, target], { onStdout })).then(failureOf)
        : await copySplit(host, source, target, plan, request.slots, onStdout);
    if (failure === undefined) return;
    lastError = failure.split('\n').slice(0, 3).join(' | ');
    if (/No space left on device/.test(failure)) break;
    // Files that change or vanish while a live tree is copied make cp fail; the old tool retried too.
    reporter.warn(`copy of ${source} failed (attempt ${attempt} of ${COPY_ATTEMPTS}): ${lastError}`);
  }
  throw new RecoveryError('failure', `could not copy ${source}: ${lastError}`);
}

function failureOf(run: CommandResult): string | undefined {
  return run.exitCode === 0 ? undefined : run.stderr.trim() || `exit code ${run.exitCode}`;
}

/**
 * The split directories are made first, the units copied by several `cp -a --parents` at once,
 * then whatever appeared in a split directory since the tree was measured, and last the split
 * directories' own owner, mode, xattrs, ACLs and times (after their content, which changes their
 * mtime) by rsync, which the restore uses for the same job. Returns what failed, if anything.
 */
async function copySplit(
  host: Host,
  source: string,
  target: string,
  plan: Extract<CopyPlan, { kind: 'split' }>,
  slots: Slots,
  onStdout: (chunk: Buffer) => void,
): Promise<string | undefined> {
  for (const dir of plan.dirs) await host.fs.mkdir(under(target, dir), { mode: 0o700 });
  let stop: string | undefined;
  const copyUnits = (units: string[]) =>
    slots.use(async () => {
      // After a failure the jobs still waiting are not started: the attempt is lost anyway.
      if (stop !== undefined) return;
      const failure = failureOf(await host.runner.run('cp', ['-a', '-v', '--parents', '--', ...units, target], { cwd: source, onStdout }));
      // Read after the await: another job may have failed meanwhile, and its error is kept.
      stop ??= failure;
    });
  await Promise.all(plan.jobs.map(copyUnits));
  if (stop !== undefined) return stop;
  const late = await entriesMissingFromCopy(host, source, target, plan.dirs);
  if (typeof late === 'string') return late;
  if (late.length) await copyUnits(late);
  if (stop !== undefined) return stop;
  const dirs = plan.dirs.join('\0');
  const rsync = await host.runner.run('rsync', ['-aAX', '--modify-window=-1', '--from0', '--files-from=-', `${source}/`, `${target}/`], { input: dirs });
  return failureOf(rsync);
}

/**
 * Names in a split directory of the source that the copy lacks: created after the walk that made
 * the plan (one cp of the whole tree would have seen them when it read that directory).
 */
async function entriesMissingFromCopy(host: Host, source: string, target: string, dirs: string[]): Promise<string[] | string> {
  const missing: string[] = [];
  for (const dir of dirs) {
    const copied = new Set(await host.fs.readdir(under(target, dir)));
    let names: string[];
    try {
      names = await host.fs.readdir(under(source, dir));
    } catch (error) {
      return `cannot list ${under(source, dir)}: ${(error as Error).message}`;
    }
    for (const name of names) if (!copied.has(name)) missing.push(dir === '.' ? name : `${dir}/${name}`);
  }
  return missing;
}

function under(root: string, rel: string): string {
  return rel === '.' ? root : `${root}/${rel}`;
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
 * Progress of copies running together, until `work` ends: bytes from the free space of the
 * filesystem they write to (one statfs per tick, whatever the number of files), entries from cp's
 * own count.
 */
export async function reportCopyProgress(
  host: Host,
  reporter: Reporter,
  component: string,
  dir: string,
  expected: Pick<TreeSize, 'entries' | 'allocated'>,
  counted: { entries: number },
  work: Promise<unknown>,
): Promise<void> {
  const freeAtStart = await freeSpace(host, dir).catch(() => undefined);
  let done = false;
  void work.finally(() => (done = true)).catch(() => undefined);
  for (;;) {
    // Wake up at the next tick or as soon as the copies end, whichever comes first.
    await Promise.race([host.clock.sleep(PROGRESS_EVERY_MS), work.catch(() => undefined)]);
    if (done || freeAtStart === undefined) return;
    const written = Math.max(0, freeAtStart - (await freeSpace(host, dir).catch(() => freeAtStart)));
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
