// `backup`, as a runbook: the old --take-backup's steps in its order, into a partial generation
// that only becomes the backup once everything in it is written, described and flushed.
import path from 'node:path';
import { constants as fsConstants } from 'node:fs';
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError } from '../core/errors.js';
import { acquireLock } from '../host/lock.js';
import { readBootId } from '../host/bootId.js';
import { exists, writeFileDurably } from '../host/durable.js';
import { resolveNodePath } from '../host/resolveNodePath.js';
import { hashFile } from '../tree/hashFile.js';
import { BackupLayout, GenerationPaths, TREE_COMPONENTS, generationId, type TreeName } from './layout.js';
import { pinBootedDeployment } from './ostreePin.js';
import { checkBackupInputs } from './preflight.js';
import { takeClusterBackup } from './clusterSnapshot.js';
import { COPY_PROCESSES, copyTree, reportCopyProgress } from './copyTree.js';
import { Slots } from '../core/slots.js';
import { writeTreeManifest } from './treeManifest.js';
import { buildExcludeList } from './excludeList.js';
import { archiveExtras } from './extras.js';
import { checkSpace, estimateBackupSize, formatBytes, freeSpace, type SpaceEstimate, type TreeSize } from './diskSpace.js';
import { commitGeneration, discardPartial, findPartials, writeState, type PartialGeneration } from './store.js';
import {
  BACKUP_FORMAT,
  clusterRecordSchema,
  componentRecordSchema,
  extrasRecordSchema,
  fileRecordSchema,
  ostreeRecordSchema,
  type BackupState,
  type BackupSummary,
  type ComponentRecord,
} from './summary.js';
import { z } from 'zod';
import { backupClusterCheck, writeIdentity, type ClusterFacts } from '../identity/backupCheck.js';
import { IMAGES_STEP } from '../images/backupStep.js';
import { imagesRecordSchema } from '../images/schema.js';
import { estimateImagesBytes, type ImageSelection } from '../images/backupImages.js';
import { awaitedLater } from '../core/awaitedLater.js';

export interface BackupOptions {
  /** The backup dir, as this process sees it. */
  dir: string;
  /** Go on when the space check fails (warned). */
  force: boolean;
  spaceMargin: number;
  /** Discard a partial backup instead of resuming it. */
  fresh: boolean;
  toolVersion: string;
  /** The running single binary, copied into the backup; undefined when run from source. */
  selfExecutable?: string;
  /** `--images`: save the container images in use, narrowed by these patterns (src/images/). */
  images?: ImageSelection;
  /** The caller already holds the backup dir's lock (launch holds it around its host changes). */
  lockHeld?: boolean;
  /** `--require-api`: an API that does not answer refuses the backup (src/identity/backupCheck.ts). */
  requireApi?: boolean;
  /** `--cert-warn-days`: warn when the kubelet certificates expire within this many days. */
  certWarnDays?: number;
  /** KUBECONFIG for oc, from the environment; default: the node's localhost.kubeconfig. */
  kubeconfig?: string;
  /**
   * Aborted when the run must stop (launch's SIGTERM, the Job's deadline): no step starts after
   * it, and the backup is not made current; the partial one is kept for the next run to resume.
   */
  stop?: AbortSignal;
}

export interface BackupResult {
  id: string;
  dir: string;
  generation: string;
  resumed: boolean;
  summary: BackupSummary;
}

interface StepContext {
  host: Host;
  reporter: Reporter;
  paths: GenerationPaths;
  estimate: SpaceEstimate;
  options: BackupOptions;
  /** Tree copies started ahead of their step. */
  copies: Map<string, CopyUnderWay>;
  copySlots: Slots;
  /** Each tree's manifest, written as soon as its copy ends (awaited by its step). */
  manifests: Map<string, Promise<ComponentRecord>>;
  /** Early flushes of finished copies, waited for before the seal. */
  flushes: Array<Promise<unknown>>;
  /** The copy of the tool into the backup, started with the tree copies (awaited by its step). */
  toolCopy?: Promise<void>;
  isDone(stepId: string): boolean;
}

interface BackupStep {
  id: string;
  title: string;
  run(context: StepContext): Promise<unknown>;
  /** One line for the operator once the step is done. */
  describe(result: unknown): string;
  /** Runs only when this says so (the images step, with --images). */
  enabled?(options: BackupOptions): boolean;
}

/** A tree copy under way: started by the step before, so that it overlaps that step's hashing. */
interface CopyUnderWay {
  startedAt: Date;
  done: Promise<void>;
}

function startCopy(context: StepContext, tree: (typeof TREE_COMPONENTS)[number], counted: { entries: number }): CopyUnderWay {
  const { host, reporter, paths, estimate, copySlots } = context;
  const startedAt = host.clock.now();
  const name = tree.name as TreeName;
  const done = awaitedLater(
    resolveNodePath(host, tree.nodePath).then((source) =>
      copyTree(host, reporter, { component: tree.name, source, target: paths.tree(tree.name), expected: estimate.trees[name], plan: estimate.copyPlans[name], slots: copySlots, counted }),
    ),
  );
  return { startedAt, done };
}

/**
 * Trees described at once: /usr/local is mostly bytes, hashed in another thread, and /etc mostly
 * entries, described in this one; one after the other, one core idled through each. Above
 * DESCRIBE_ALONE_ENTRIES in all, one at a time (a second hashing thread would count against a
 * million-entry backup's memory).
 */
const DESCRIBES_AT_ONCE = 2;
const DESCRIBE_ALONE_ENTRIES = 200_000;

/**
 * Starts the copies of the trees not copied yet, with one progress line for all of them, and the
 * description of each into its manifest as soon as its copy ends.
 */
function startCopies(context: StepContext): void {
  const { host, reporter, paths, estimate, copies, isDone } = context;
  const trees = TREE_COMPONENTS.filter((tree) => !isDone(tree.name) && !copies.has(tree.name));
  if (!trees.length) return;
  const counted = { entries: 0 };
  const entries = sum(trees.map((tree) => estimate.trees[tree.name as TreeName].entries));
  const describeSlots = new Slots(entries > DESCRIBE_ALONE_ENTRIES ? 1 : DESCRIBES_AT_ONCE);
  for (const tree of trees) {
    const copy = startCopy(context, tree, counted);
    copies.set(tree.name, copy);
    context.manifests.set(tree.name, awaitedLater(copy.done.then(() => describeSlots.use(() => describeCopy(context, tree, copy)))));
  }
  const sizes = trees.map((tree) => estimate.trees[tree.name as TreeName]);
  const expected = { entries: sum(sizes.map((size) => size.entries)), allocated: sum(sizes.map((size) => size.allocated)) };
  const all = Promise.allSettled(trees.map((tree) => copies.get(tree.name)!.done));
  void reportCopyProgress(host, reporter, trees.map((tree) => tree.name).join('+'), paths.dir, expected, counted, all).catch(() => undefined);
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/**
 * The first of `pending`, except among the tree steps: the tree whose manifest is written first is
 * recorded first (each is described as soon as its copy ends, while the copies still running go
 * on: a big /etc would otherwise hold back the hashing of /usr/local and /var/lib/kubelet, copied
 * long before).
 */
async function nextToRun(context: StepContext, pending: BackupStep[]): Promise<BackupStep> {
  const first = pending[0]!;
  if (!treeSteps.includes(first)) return first;
  startCopies(context);
  const trees = pending.filter((step) => treeSteps.includes(step) && !context.isDone(step.id));
  // A failed copy or description counts as ended: its step is the one that reports the failure.
  return Promise.race(trees.map((step) => context.manifests.get(step.id)!.then(() => step, () => step)));
}

/**
 * The copies of every tree not yet copied start with the backup (cp -a, in child processes that
 * share COPY_PROCESSES slots); each tree is described into its manifest as soon as its copy ends
 * (two at a time), while the later trees are still copying: reads in flight on the disk and
 * hashing on the other core. Its step waits for that manifest and records it.
 */
const treeSteps: BackupStep[] = TREE_COMPONENTS.map((tree) => ({
  id: tree.name,
  title: `Copy ${tree.nodePath} into ${tree.name}/`,
  async run(context) {
    // runBackup started the copy and its description (a failure waits for the others there).
    const record = await context.manifests.get(tree.name)!;
    context.copies.delete(tree.name);
    context.manifests.delete(tree.name);
    return record;
  },
  describe: (r) => {
    const record = componentRecordSchema.parse(r);
    return `${record.entries} entries, ${record.files} files, ${formatBytes(record.bytes)}`;
  },
}));

/** The manifest of a tree whose copy has ended, written while other trees may still copy. */
async function describeCopy(context: StepContext, tree: (typeof TREE_COMPONENTS)[number], copy: CopyUnderWay): Promise<ComponentRecord> {
  const { host, reporter, paths, estimate } = context;
  // Its writeback starts now, on the disk while we hash on the CPU, instead of all of it in the
  // final sync (which stays the one that counts).
  context.flushes.push(host.runner.run('sync', ['-f', paths.tree(tree.name)]).catch(() => undefined));
  const sourceDir = await resolveNodePath(host, tree.nodePath);
  return writeTreeManifest(host, reporter, paths, tree.name, tree.nodePath, estimate.trees[tree.name as TreeName], { dir: sourceDir, startedAt: copy.startedAt });
}

export const BACKUP_STEPS: BackupStep[] = [
  {
    id: 'ostree',
    title: 'Keep only the booted ostree deployment and pin it',
    run: ({ host, reporter }) => pinBootedDeployment(host, reporter),
    describe: (r) => {
      const d = ostreeRecordSchema.parse(r);
      return `${d.osname} ${d.checksum.slice(0, 12)}.${d.serial} pinned, ${d.removed} other deployment(s) removed`;
    },
  },
  {
    id: 'cluster',
    title: 'Snapshot etcd and the static pod resources (cluster-backup.sh)',
    async run({ host, reporter, paths }) {
      await host.fs.rm(paths.cluster, { recursive: true, force: true });
      const result = await takeClusterBackup(host, reporter, paths.cluster);
      const record = await writeTreeManifest(host, reporter, paths, 'cluster', '/var/lib/etcd', { entries: 3, files: 2, bytes: 0, allocated: 0 });
      return { ...result, component: record };
    },
    describe: (r) => {
      const c = clusterRecordSchema.parse(r);
      return c.status ? `${c.snapshot}: revision ${c.status.revision}, ${c.status.totalKey} keys` : c.snapshot;
    },
  },
  ...treeSteps,
  {
    id: 'exclude-list',
    title: 'Write etc.exclude.list from /etc/tmpfiles.d',
    async run({ host, paths }) {
      const list = await buildExcludeList(host);
      await writeFileDurably(host.fs, paths.excludeList, list.map((p) => `${p}\n`).join(''), 0o644);
      return list;
    },
    describe: (r) => `${z.array(z.string()).parse(r).length} paths`,
  },
  {
    id: 'extras',
    title: 'Archive the MachineConfig files outside those trees into extras.tgz',
    run: ({ host, reporter, paths }) => archiveExtras(host, reporter, paths.extras),
    describe: (r) => {
      const e = extrasRecordSchema.parse(r);
      return `${e.archived.length} files${e.missing.length ? `, ${e.missing.length} missing on the node` : ''}`;
    },
  },
  IMAGES_STEP,
  {
    id: 'tool',
    title: 'Write a copy of upgrade-recovery into the backup',
    async run(context) {
      const { reporter, paths, options } = context;
      if (!options.selfExecutable) {
        reporter.warn('not running as the single binary: no copy of the tool is written into the backup');
        return null;
      }
      await (context.toolCopy ?? copyTool(context));
      return paths.tool;
    },
    describe: (r) => (r ? 'copied' : 'skipped: not running as the single binary'),
  },
];

/** A clone where the filesystem shares blocks (XFS with reflink, as RHCOS's /var), else a copy. */
async function copyTool({ host, paths, options }: StepContext): Promise<void> {
  if (!options.selfExecutable) return;
  await host.fs.copyFile(options.selfExecutable, paths.tool, fsConstants.COPYFILE_FICLONE);
  await host.fs.chmod(paths.tool, 0o755);
}

export async function runBackup(host: Host, reporter: Reporter, options: BackupOptions): Promise<BackupResult> {
  stopIfAsked(options, 'preflight');
  const layout = new BackupLayout(options.dir);
  await refuseDuringRestore(host, layout);
  await host.fs.mkdir(layout.generations, { recursive: true, mode: 0o700 });
  const bootId = await readBootId(host, reporter);
  const lock = options.lockHeld ? { release: async () => undefined } : await acquireLock(host, layout.lock, 'backup', bootId);
  try {
    reporter.stepStart('preflight', 'Check that the node has what a backup needs');
    await checkBackupInputs(host);
    reporter.stepEnd('preflight', 'done');
    reporter.stepStart('space', 'Estimate the size of the backup and check free space');
    const estimate = await estimateBackupSize(host);
    if (options.images) estimate.total += await estimateImagesBytes(host, options.images);
    const free = await freeSpace(host, layout.dir);
    const warning = checkSpace(free, estimate.total, options.spaceMargin, options.force, layout.dir);
    if (warning) reporter.warn(`${warning}; going on because of --force`);
    reporter.stepEnd('space', 'done', `about ${formatBytes(estimate.total)} needed, ${formatBytes(free)} free`);
    // Health and identity, before the first change (--force backs up a degraded cluster, marked so).
    const clusterFacts = await backupClusterCheck(host, reporter, options);

    const { partial, resumed } = await startOrResume(host, reporter, layout, bootId, options.fresh);
    const state = partial.state!;
    const context: StepContext = {
      host,
      reporter,
      paths: partial.paths,
      estimate,
      options,
      copies: new Map(),
      copySlots: new Slots(COPY_PROCESSES),
      manifests: new Map(),
      flushes: [],
      isDone: (id) => id in state.results,
    };
    const pending = BACKUP_STEPS.filter((step) => !step.enabled || step.enabled(options));
    // The tree copies and the tool's copy need nothing of the ostree and etcd steps before them
    // (those change neither /etc, /usr/local nor /var/lib/kubelet): they start now and run
    // meanwhile, each tree still recorded by its own step.
    startCopies(context);
    if (!context.isDone('tool')) context.toolCopy = awaitedLater(copyTool(context));
    try {
      while (pending.length) {
        if (pending[0]!.id in state.results) {
          const done = pending.shift()!;
          reporter.stepEnd(done.id, 'skipped', `${done.title}: already done before the interruption`);
          continue;
        }
        const step = await nextToRun(context, pending);
        // Checked once the next step is known: a stop that came while waiting for it counts too.
        stopIfAsked(options, step.id);
        pending.splice(pending.indexOf(step), 1);
        reporter.stepStart(step.id, step.title);
        const warningsBefore = collectWarnings(reporter, state);
        const result = await step.run(context).catch((error: unknown) => {
          reporter.stepEnd(step.id, 'failed');
          throw error;
        });
        warningsBefore.stop();
        state.results[step.id] = result ?? null;
        await writeState(host, partial.paths, state);
        reporter.stepEnd(step.id, 'done', step.describe(result));
      }
    } finally {
      // Never leave a cp or a manifest writing into the generation behind us (the lock is released next).
      await Promise.allSettled([...context.copies.values()].map((copy) => copy.done));
      await Promise.allSettled(context.manifests.values());
      await context.toolCopy?.catch(() => undefined);
    }

    stopIfAsked(options, 'seal');
    reporter.stepStart('seal', 'Write backup.json, flush to disk and make this the current backup');
    await Promise.all(context.flushes);
    const summary = await sealSummary(host, partial, state, options, clusterFacts);
    const generation = await commitGeneration(host, layout, partial, options.selfExecutable);
    reporter.stepEnd('seal', 'done', generation.dir);
    return { id: partial.id, dir: layout.dir, generation: generation.dir, resumed, summary };
  } finally {
    await lock.release();
  }
}

/** Throws when the run was told to stop (BackupOptions.stop), before `step` starts. */
function stopIfAsked(options: BackupOptions, step: string): void {
  if (options.stop?.aborted) {
    throw new RecoveryError('failure', `stopped before the ${step} step; the partial backup is kept and the next backup resumes it`);
  }
}

export async function refuseDuringRestore(host: Host, layout: BackupLayout): Promise<void> {
  for (const file of [layout.restoreJournal, layout.legacyProgress]) {
    if (await exists(host.fs, file)) {
      throw new RecoveryError(
        'precondition',
        `a restore is in progress (${file} exists): a backup now would overwrite the backup it restores from`,
        'upgrade-recovery restore --resume',
      );
    }
  }
}

async function startOrResume(
  host: Host,
  reporter: Reporter,
  layout: BackupLayout,
  bootId: string,
  fresh: boolean,
): Promise<{ partial: PartialGeneration; resumed: boolean }> {
  const partials = await findPartials(host, layout);
  const newest = partials.at(-1);
  for (const partial of partials) {
    // Resuming across a reboot would mix an old etcd snapshot with newer trees: start over then.
    const resumable = partial === newest && !fresh && partial.state?.bootId === bootId;
    if (resumable) continue;
    reporter.info(`Discarding the partial backup ${partial.id}${partial.state ? '' : ' (no readable state)'}`);
    await discardPartial(host, partial);
  }
  if (newest && !fresh && newest.state?.bootId === bootId) {
    reporter.info(`Resuming the partial backup ${newest.id} (done: ${Object.keys(newest.state.results).join(', ') || 'nothing yet'})`);
    return { partial: newest, resumed: true };
  }
  let id = generationId(host.clock.now());
  // Ids are to the second: a backup taken within the second of the previous one waits for the
  // next, rather than meet that generation's directory at its rename.
  while (await exists(host.fs, layout.generation(id))) {
    await host.clock.sleep(1000 - (host.clock.now().getTime() % 1000));
    id = generationId(host.clock.now());
  }
  const paths = new GenerationPaths(layout.partial(id));
  await host.fs.mkdir(paths.manifests, { recursive: true, mode: 0o700 });
  const state: BackupState = {
    format: 'upgrade-recovery/backup-state',
    id,
    bootId,
    startedAt: host.clock.now().toISOString(),
    results: {},
    warnings: [],
  };
  await writeState(host, paths, state);
  return { partial: { id, paths, state }, resumed: false };
}

/** Keeps the warnings of a step in the state, so a resumed backup still reports them. */
function collectWarnings(reporter: Reporter, state: BackupState): { stop(): void } {
  const original = reporter.warn.bind(reporter);
  reporter.warn = (message: string) => {
    state.warnings.push(message);
    original(message);
  };
  return { stop: () => (reporter.warn = original) };
}

async function sealSummary(host: Host, partial: PartialGeneration, state: BackupState, options: BackupOptions, clusterFacts: ClusterFacts): Promise<BackupSummary> {
  const { paths } = partial;
  const cluster = z.object({ component: componentRecordSchema }).and(clusterRecordSchema).parse(state.results.cluster);
  const identity = await writeIdentity(host, paths.dir, clusterFacts, ostreeRecordSchema.parse(state.results.ostree), options.toolVersion);
  const images = state.results.images ? imagesRecordSchema.parse(state.results.images) : undefined;
  // Every file backup.json lists, by its name relative to the generation, with size and hash.
  const listed = [paths.extras, paths.excludeList, ...(state.results.tool ? [paths.tool] : []), identity, ...(images ? [path.join(paths.dir, images.index)] : [])];
  const files = [];
  for (const file of listed) {
    const stat = await host.fs.stat(file);
    files.push(fileRecordSchema.parse({ name: path.relative(paths.dir, file), size: stat.size, sha256: await hashFile(host.fs, file) }));
  }
  const summary: BackupSummary = {
    format: BACKUP_FORMAT,
    version: 1,
    id: partial.id,
    createdAt: state.startedAt,
    completedAt: host.clock.now().toISOString(),
    toolVersion: options.toolVersion,
    bootId: state.bootId,
    ostree: ostreeRecordSchema.parse(state.results.ostree),
    cluster: { snapshot: cluster.snapshot, staticResources: cluster.staticResources, ...(cluster.status ? { status: cluster.status } : {}) },
    components: [cluster.component, ...TREE_COMPONENTS.map((t) => componentRecordSchema.parse(state.results[t.name]))],
    files,
    extras: extrasRecordSchema.parse(state.results.extras),
    excludeList: z.array(z.string()).parse(state.results['exclude-list']),
    warnings: state.warnings,
    ...(images ? { images } : {}),
  };
  await writeFileDurably(host.fs, paths.summary, `${JSON.stringify(summary, null, 2)}\n`, 0o600);
  return summary;
}
