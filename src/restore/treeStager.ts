// Stages the entries a tree restore writes, each as soon as the plan decides it: most go into one
// archive streamed into tar (src/restore/treeStageArchive.ts) while the plan still reads the tree,
// so that tar makes the files on the other core meanwhile; big files, files with holes and sockets
// are copied one by one by cp once the plan is done (src/restore/treeStageCopy.ts), the other names
// of their hard-link group linked to them. Everything is staged under a flat name (a number) in the
// staging dir; nothing live is touched here.
//
// Last, the staged copies are read back and hashed (a big file streamed through the archive was
// hashed as it was read, and is not read twice): a copy damaged on its way never replaces a live
// file. A failure stops the plan at its next write (add throws), and abort leaves the tree as it was.
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError } from '../core/errors.js';
import { syncFilesystem } from '../host/durable.js';
import { ManifestLines } from '../manifest/reader.js';
import type { ManifestEntry } from '../manifest/schema.js';
import { joinPath } from '../tree/pathBytes.js';
import { checkCopies, RestoreProgress } from './treeChecks.js';
import type { PlannedWrite, TreePlan, TreePlanInput } from './treePlan.js';
import { hasHoles, mayHaveHoles, stageByArchive, type ArchiveItem } from './treeStageArchive.js';
import { COPY_ALONE_MIN_BYTES, setSocketXattrs, stageByCopy } from './treeStageCopy.js';
import { Staging } from './treeStaging.js';
import { paxTime } from '../tree/paxArchive.js';
import { awaitedLater } from '../core/awaitedLater.js';
import { AsyncQueue } from '../core/asyncQueue.js';

/**
 * At most this many manifest entries (about a kilobyte each) wait in the archive's feed; the items
 * after them have their lines read again when tar's stream gets to them.
 */
const ENTRIES_AHEAD = 2048;

/** Where each written entry was staged (directories are made in place, and have none). */
export type StagedPaths = (write: PlannedWrite) => Buffer | undefined;

export class Stager {
  readonly staging: Staging;
  private readonly what: string;
  private readonly backup: Buffer;
  private readonly component: string;
  private readonly copied: RestoreProgress;
  private readonly names = new Map<PlannedWrite, number>();
  private readonly archived: PlannedWrite[] = [];
  private readonly alone: PlannedWrite[] = [];
  private readonly linked: Array<{ write: PlannedWrite; to: PlannedWrite }> = [];
  /** Hard-link group -> the name that carries its content, and whether cp copies it. */
  private readonly carriers = new Map<string, { write: PlannedWrite; alone: boolean }>();
  /** The archive's items as the plan adds them; tar's stream waits for the next one. */
  private readonly feed = new AsyncQueue<ArchiveItem>();
  private prepared: Promise<void> | undefined;
  private archiving: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  /** Items in the feed that carry their manifest entry (see ENTRIES_AHEAD). */
  private entriesAhead = 0;
  /** The tree root's mtime before the staging dir was made, given back if nothing goes in place. */
  private rootBefore: string | undefined;

  constructor(
    private readonly host: Host,
    private readonly input: TreePlanInput,
    private readonly reporter: Reporter,
    component: string,
  ) {
    this.staging = new Staging(host, input.liveTree);
    this.component = component;
    this.what = `cannot stage the restore of ${component} in ${input.liveTree}`;
    this.backup = Buffer.from(input.backupTree);
    this.copied = new RestoreProgress(reporter, host.clock, component, 'copy');
  }

  /** Whether anything was staged (the staging dir was made). */
  get started(): boolean {
    return this.prepared !== undefined;
  }

  /**
   * Takes one entry the plan writes, with its manifest entry when the plan has it at hand (the
   * archive then need not read its line again); throws what stopped the staging so far.
   */
  add(write: PlannedWrite, recorded?: ManifestEntry): void {
    if (this.failure) throw this.failure.error;
    if (write.type === 'dir') return;
    this.names.set(write, this.names.size);
    const carrier = write.group === undefined ? undefined : this.carriers.get(write.group);
    if (carrier && write.sha256 === undefined) {
      // A later name of its group: a link to the name that carries the content, wherever that went.
      if (carrier.alone) this.linked.push({ write, to: carrier.write });
      else this.archive(write, recorded, carrier.write);
      return;
    }
    const alone = write.type === 'socket' || (write.sha256 !== undefined && (write.size >= COPY_ALONE_MIN_BYTES || this.holesInBackup(write)));
    if (write.group !== undefined) this.carriers.set(write.group, { write, alone });
    if (alone) {
      this.alone.push(write);
      this.prepare();
    } else {
      this.archive(write, recorded);
    }
  }

  /**
   * Ends the staging once the plan is done: the archive, then the copies, the links, and the check
   * with the flush to disk at the same time (the check reads what the flush writes out). Returns
   * where each entry is staged: checked, and on disk.
   */
  async finish(plan: TreePlan): Promise<StagedPaths> {
    if (this.failure) throw this.failure.error;
    this.copied.setTotals(this.names.size, plan.bytes);
    this.feed.end();
    if (!this.prepared) return () => undefined;
    await this.prepared;
    await this.archiving;
    for (const write of this.alone) {
      const target = this.pathOf(write).toString('latin1');
      await stageByCopy(this.host, joinPath(this.backup, write.rel), target, this.what);
      if (write.type === 'socket') await setSocketXattrs(this.host, target, this.manifestLine(write).xattrs ?? {}, this.what);
      this.copied.add(1, write.sha256 ? write.size : 0);
    }
    for (const { write, to } of this.linked) {
      this.host.fs.sync.linkSync(this.pathOf(to), this.pathOf(write));
      this.copied.add(1, 0);
    }
    this.copied.finish();
    const reread = [...this.archived.filter((w) => w.size < COPY_ALONE_MIN_BYTES), ...this.alone].filter((w) => w.sha256 !== undefined);
    const checked = new RestoreProgress(this.reporter, this.host.clock, this.component, 'hash', reread.length, reread.reduce((sum, w) => sum + w.size, 0));
    const flushed = awaitedLater(syncFilesystem(this.host.runner, this.staging.dir, `flushing the restore of ${this.component} to disk`));
    const copies = function* (stager: Stager) {
      for (const write of reread) yield { write, copy: stager.pathOf(write) };
    };
    await checkCopies(this.host, this.input.backupTree, copies(this), checked);
    await flushed;
    return (write) => (this.names.has(write) ? this.pathOf(write) : undefined);
  }

  /** After a failure: stops tar, drops the staging dir, gives the root its mtime back. */
  async abort(reason: unknown): Promise<void> {
    this.failure ??= { error: reason };
    this.feed.fail(reason);
    await this.archiving?.catch(() => undefined);
    await this.prepared?.catch(() => undefined);
    if (!this.prepared) return;
    await this.staging.remove();
    if (this.rootBefore !== undefined) await setMtime(this.host, this.input.liveTree, this.rootBefore);
  }

  private archive(write: PlannedWrite, recorded: ManifestEntry | undefined, linkTo?: PlannedWrite): void {
    this.archived.push(write);
    // Held only while tar keeps up: a plan far ahead of it (a wiped tree of a million entries) would hold them all.
    const entry = recorded && this.entriesAhead < ENTRIES_AHEAD ? recorded : undefined;
    if (entry) this.entriesAhead += 1;
    this.feed.push({ index: this.names.get(write)!, write, ...(linkTo ? { linkTo: this.names.get(linkTo)! } : {}), ...(entry ? { entry } : {}) });
    this.archiving ??= this.prepare().then(() => stageByArchive(this.host, this.input, this.staging.flat, this.items(), this.copied, this.what));
    this.archiving.catch((error: unknown) => (this.failure ??= { error }));
  }

  /** The archive's items as tar's stream takes them. */
  private async *items(): AsyncGenerator<ArchiveItem> {
    for await (const item of this.feed.each()) {
      if (item.entry) this.entriesAhead -= 1;
      yield item;
    }
  }

  /** The staging dir, made once (a killed run's leftovers removed first). */
  private prepare(): Promise<void> {
    this.prepared ??= (async () => {
      await ensureRoot(this.host, this.input.liveTree);
      this.rootBefore = (await this.host.fs.lstat(this.input.liveTree, { bigint: true })).mtimeNs.toString();
      await this.staging.create();
    })();
    this.prepared.catch((error: unknown) => (this.failure ??= { error }));
    return this.prepared;
  }

  private pathOf(write: PlannedWrite): Buffer {
    return this.staging.byIndex(this.names.get(write)!);
  }

  private holesInBackup(write: PlannedWrite): boolean {
    // Most of a tree's writes are small files: no lstat for them (a backup copy of another size is caught as it is staged).
    if (!mayHaveHoles(write.size)) return false;
    try {
      const stat = this.host.fs.sync.lstatSync(joinPath(this.backup, write.rel));
      return stat.isFile() && hasHoles(stat);
    } catch {
      // Missing: staging it says so, naming the damaged backup.
      return false;
    }
  }

  private manifestLine(write: PlannedWrite) {
    const lines = new ManifestLines(this.host.fs, this.input.manifest);
    try {
      return lines.at(write.line, write.rel);
    } finally {
      lines.close();
    }
  }
}

/** A tree deleted altogether is made again (its metadata comes last, as for any directory). */
export async function ensureRoot(host: Host, liveTree: string): Promise<void> {
  try {
    await host.fs.mkdir(liveTree, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw new RecoveryError('failure', `cannot create ${liveTree}: ${(error as Error).message}`);
  }
}

/** Node's utimes takes float seconds (not nanoseconds exact); GNU touch takes `@seconds.nanoseconds`. */
async function setMtime(host: Host, dir: string, ns: string): Promise<void> {
  const run = await host.runner.run('touch', ['-h', '-m', '-d', `@${paxTime(BigInt(ns))}`, '--', dir]);
  if (run.exitCode !== 0) throw new RecoveryError('failure', `cannot set the mtime of ${dir}: ${run.stderr.trim()}`);
}
