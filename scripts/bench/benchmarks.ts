// The three comparisons, each "ours" against "the old method", and the interleaved loop that times
// them. A side has an untimed `prepare` (what makes every round start from the same state) and a
// timed `run`.
import { execa } from 'execa';
import { mkdtempSync, readlinkSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { STANDINS_DIR, type SandboxNode } from '../sandbox/sandboxNode.js';
import { mutate, resetTrees, TREES, type MutationCounts } from './benchNode.js';
import type { Trash } from './trash.js';
import { resultEvent, settle, stepDurations, timed, timedShell, type CacheMode, type Measurement, type RunOptions } from './measure.js';

export const BENCH_NAMES = ['backup', 'verify', 'restore'] as const;
export type BenchName = (typeof BENCH_NAMES)[number];

export interface Side {
  label: string;
  prepare(): Promise<void>;
  run(cache: CacheMode): Promise<Measurement>;
}

export interface Benchmark {
  name: BenchName;
  ours: Side;
  old: Side;
  /** Our steps that do what the old method does (the tree copies), for a like-for-like line. */
  treeSteps: string[];
  /**
   * When those steps overlap other work, the time from the end of `after` to the last end of
   * `treeSteps` instead of the sum of their durations (a backup's tree steps only record manifests
   * written in the background, while its copies run from the end of cluster-health on).
   */
  treeSpanAfter?: string;
  /** Names what the old side's `followUp` (Measurement) ran, for the info line that adds it to the old time. */
  followUpLabel?: string;
}

export interface Context {
  node: SandboxNode;
  work: string;
  binary: string;
  /** Options for every timed command (abort signal, timeout, scratch dir). */
  runOptions: Omit<RunOptions, 'env'>;
  /** Mutated fraction of each tree's files for the restore comparison. */
  fraction: number;
  seed: number;
  /** Filled by the restore benchmark: what one mutation did. */
  mutation?: MutationCounts[];
  /** Where the backup comparison's previous copies go (see trash.ts). */
  trash: Trash;
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** The generation `current` points to: the real dirs, not the old-layout links. */
export function currentGeneration(root: string): string {
  const dir = path.join(root, 'var/recovery');
  return path.resolve(dir, readlinkSync(path.join(dir, 'current')));
}

async function ours(context: Context, args: string[], env?: NodeJS.ProcessEnv): Promise<Measurement & { stdout: string }> {
  const run = await timed(context.binary, args, { ...context.runOptions, ...(env ? { env } : {}) });
  return { ...run, ...stepDurations(run.stdout) };
}

// ------------------------------------------------------------------------------------ backup

export function backupBenchmark(context: Context): Benchmark {
  const { root } = context.node;
  const recovery = path.join(root, 'var/recovery');
  const copy = path.join(context.work, 'cp-copy');
  const sums = path.join(context.work, 'cp-copy.sha256');
  return {
    name: 'backup',
    treeSteps: ['etc', 'local', 'kubelet'],
    treeSpanAfter: 'cluster-health',
    followUpLabel: 'cp -a, then openssl sha256',
    ours: {
      label: 'upgrade-recovery backup',
      // A first backup each round, as cp -a gets a fresh dir: removing the previous generation
      // would otherwise be on our clock only.
      prepare: async () => {
        await context.trash.discard(recovery);
        await mkdir(recovery, { mode: 0o700 });
      },
      run: async () => ours(context, ['backup', '--root', root, '--json', '--force', '--space-margin', '0']),
    },
    old: {
      label: 'cp -a of /etc, /usr/local, /var/lib/kubelet',
      prepare: () => context.trash.discard(copy),
      run: async () => {
        const copied = await timedShell(
          `mkdir ${quote(copy)} && cp -a ${quote(`${root}/etc`)} ${quote(`${copy}/etc`)} && cp -a ${quote(`${root}/usr/local/`)} ${quote(`${copy}/local`)} && cp -a ${quote(`${root}/var/lib/kubelet`)} ${quote(`${copy}/kubelet`)}`,
          context.runOptions,
        );
        // Our backup's time includes a SHA-256 of every byte it copied; cp -a's does not. Timed
        // apart, as information: what the old method would take to vouch for its copy the same way.
        // openssl, not sha256sum: Debian's coreutils hashes without the CPU's SHA instructions, at
        // about a sixth of the speed our hasher (OpenSSL's, in Node) gets from them.
        const hashed = await timedShell(`cd ${quote(copy)} && find . -type f -print0 | xargs -0 openssl dgst -sha256 -r > ${quote(sums)}`, context.runOptions);
        return { ...copied, followUp: { wallMs: hashed.wallMs, ...(hashed.cpuMs !== undefined ? { cpuMs: hashed.cpuMs } : {}) } };
      },
    },
  };
}

// ------------------------------------------------------------------------------------ verify

export function verifyBenchmark(context: Context): Benchmark {
  const { root } = context.node;
  const nothing = async () => undefined;
  return {
    name: 'verify',
    treeSteps: ['verify-etc', 'verify-local', 'verify-kubelet'],
    ours: { label: 'upgrade-recovery verify --data', prepare: nothing, run: () => ours(context, ['verify', '--root', root, '--data', '--json']) },
    old: {
      label: 'sha256sum of every regular file of the 3 trees',
      prepare: nothing,
      run: () => {
        const generation = currentGeneration(root);
        const trees = TREES.map(([tree]) => quote(path.join(generation, tree))).join(' ');
        return timedShell(`find ${trees} -type f -print0 | xargs -0 sha256sum > /dev/null`, context.runOptions);
      },
    },
  };
}

// ----------------------------------------------------------------------------------- restore

/** What the tests pass: the stand-ins answer at once, so the old 10 s polls would only wait. */
const FAST = ['--poll-interval', '0.02', '--container-timeout', '20', '--redeploy-timeout', '20'];

export function restoreBenchmark(context: Context): Benchmark {
  const { root } = context.node;
  // Every round starts from the same mutated tree: the backup's trees back exactly, then the same
  // seeded mutation.
  const mutated = async () => {
    await resetTrees(root, currentGeneration(root));
    context.mutation = mutate(root, context.seed, context.fraction);
  };
  let env: NodeJS.ProcessEnv = {};
  let checked = false;
  return {
    name: 'restore',
    treeSteps: ['restore-local', 'restore-etc', 'restore-kubelet'],
    ours: {
      label: 'upgrade-recovery restore, reboot, restore --resume',
      prepare: async () => {
        await mutated();
        env = standinEnv(context.work);
      },
      run: async (cache) => {
        const measurement = await restoreAsAnOperator(context, env, cache);
        // Once, off the clock: a restore that left differences would make the comparison moot.
        if (!checked) await expectTreesExact(root, currentGeneration(root));
        checked = true;
        return measurement;
      },
    },
    old: {
      label: 'rsync -aAXc --delete --no-t of the 3 trees',
      prepare: mutated,
      run: () => {
        const generation = currentGeneration(root);
        const script = TREES.map(([tree, nodePath]) => `rsync -aAXc --delete --no-t ${quote(`${path.join(generation, tree)}/`)} ${quote(`${path.join(root, nodePath)}/`)}`).join(' && ');
        return timedShell(script, context.runOptions);
      },
    },
  };
}

/**
 * The stand-ins for systemctl, crictl, crio, oc, setenforce first on PATH, with a fresh state per
 * round (units, containers, revisions start over), as test/support/restoreRun.ts sets them up.
 */
function standinEnv(work: string): NodeJS.ProcessEnv {
  const state = mkdtempSync(path.join(work, 'standin-state-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${path.join(STANDINS_DIR, 'bin')}:${process.env.PATH}`,
    STANDIN_STATE: state,
    STANDIN_LOG: path.join(state, 'calls.log'),
    STANDIN_CONTAINER_DELAY_POLLS: '1',
    STANDIN_ROLLOUT_POLLS: '1',
  };
  delete env.KUBECONFIG; // the node's own localhost.kubeconfig, as on a node
  return env;
}

/**
 * `restore` (files phase), the reboot (stand-ins' `standin-boot` and a new boot id), then
 * `restore --resume`: the time is the sum of the three, the peak the larger of the two commands.
 * On a cold run the cache is dropped at the reboot too (a real reboot empties it), off the clock.
 */
async function restoreAsAnOperator(context: Context, env: NodeJS.ProcessEnv, cache: CacheMode): Promise<Measurement> {
  const { root } = context.node;
  const files = await ours(context, ['restore', '--root', root, '--json', ...FAST], env);
  expectKind(files.stdout, 'reboot-required');
  const bootStarted = process.hrtime.bigint();
  await execa(path.join(STANDINS_DIR, 'bin/standin-boot'), { env });
  await context.node.reboot();
  const bootMs = Number(process.hrtime.bigint() - bootStarted) / 1e6;
  await settle(cache);
  const cluster = await ours(context, ['restore', '--root', root, '--json', ...FAST, '--resume'], env);
  expectKind(cluster.stdout, 'complete');
  return {
    wallMs: files.wallMs + bootMs + cluster.wallMs,
    peakRssKiB: Math.max(files.peakRssKiB, cluster.peakRssKiB),
    cpuMs: (files.cpuMs ?? 0) + (cluster.cpuMs ?? 0),
    // Both runs check the backup first (verify-*): the second run's are kept apart, not lost.
    steps: { ...files.steps, reboot: bootMs, ...apart(cluster.steps ?? {}, files.steps ?? {}) },
    phases: { ...files.phases, ...apart(cluster.phases ?? {}, files.phases ?? {}) },
    processes: maxPerKey(files.processes ?? {}, cluster.processes ?? {}),
    treeSumKiB: Math.max(files.treeSumKiB ?? 0, cluster.treeSumKiB ?? 0),
  };
}

/**
 * `rsync -aAXHc --modify-window=-1 --dry-run --itemize-changes --delete` finds nothing to change between the backup's
 * trees and the node's, except what the restore leaves alone by design (etc.exclude.list, and
 * /etc/kubernetes, whose mtime cluster-restore.sh touches), as in test/support/upgrade.ts.
 */
async function expectTreesExact(root: string, generation: string): Promise<void> {
  const excluded = ['/kubernetes/manifests', '/.updated', '/iscsi', '/sno-runtime', '/pki/ca-trust/source/anchors/extra.pem', '/kubernetes/manifests-stopped'];
  for (const [tree, nodePath] of TREES) {
    const excludes = tree === 'etc' ? excluded.map((p) => `--exclude=${p}`) : [];
    const run = await execa('rsync', ['-aAXHc', '--modify-window=-1', '--dry-run', '--itemize-changes', '--delete', ...excludes, `${path.join(generation, tree)}/`, `${path.join(root, nodePath)}/`]);
    const differences = run.stdout
      .split('\n')
      .filter((line) => line !== '' && !(tree === 'etc' && line === '.d..t...... kubernetes/'));
    if (differences.length) throw new Error(`after our restore /${nodePath} still differs from the backup:\n${differences.slice(0, 20).join('\n')}`);
  }
}

/** `later` with `(resume)` after the names `earlier` already has. */
function apart(later: Record<string, number>, earlier: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(later).map(([key, value]) => [key in earlier ? `${key} (resume)` : key, value]));
}

function maxPerKey(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [key, value] of Object.entries(b)) out[key] = Math.max(out[key] ?? 0, value);
  return out;
}

function expectKind(stdout: string, kind: string): void {
  const result = resultEvent(stdout);
  if (result.ok !== true || result.kind !== kind) throw new Error(`restore ended with ${JSON.stringify(result)}, expected ${kind}`);
}

// ------------------------------------------------------------------------------ the loop

export interface Rounds {
  name: BenchName;
  cache: CacheMode;
  ours: Measurement[];
  old: Measurement[];
}

/**
 * `rounds` rounds of ours then old (A B A B ...), each side prepared off the clock, then `sync`
 * (and the cache dropped, for cold), then timed. `skipOld` leaves the old method out.
 */
export async function interleave(
  benchmark: Benchmark,
  cache: CacheMode,
  rounds: number,
  skipOld: boolean,
  log: (line: string) => void,
): Promise<Rounds> {
  const result: Rounds = { name: benchmark.name, cache, ours: [], old: [] };
  const sides: Array<[Side, Measurement[]]> = [[benchmark.ours, result.ours]];
  if (!skipOld) sides.push([benchmark.old, result.old]);
  for (let round = 1; round <= rounds; round++) {
    for (const [side, samples] of sides) {
      await side.prepare();
      await settle(cache);
      const sample = measurementOnly(await side.run(cache));
      samples.push(sample);
      log(`${benchmark.name} ${cache} round ${round}/${rounds}: ${side.label}: ${(sample.wallMs / 1000).toFixed(2)} s, peak ${(sample.peakRssKiB / 1024).toFixed(1)} MiB`);
    }
  }
  return result;
}

/** The figures without the command's output (which would bloat the JSON). */
export function measurementOnly({ wallMs, peakRssKiB, cpuMs, steps, phases, ends, processes, treeSumKiB, followUp }: Measurement): Measurement {
  return { wallMs, peakRssKiB, ...(cpuMs !== undefined ? { cpuMs } : {}), ...(steps ? { steps, phases } : {}), ...(ends ? { ends } : {}), ...(processes ? { processes } : {}), ...(treeSumKiB !== undefined ? { treeSumKiB } : {}), ...(followUp ? { followUp } : {}) };
}

/** One untimed round of each side: the trees in the cache, first-time work (ostree undeploy) done. */
export async function warmUp(benchmark: Benchmark, skipOld: boolean, log: (line: string) => void): Promise<void> {
  for (const side of skipOld ? [benchmark.ours] : [benchmark.ours, benchmark.old]) {
    await side.prepare();
    const sample = await side.run('warm');
    log(`${benchmark.name} warm-up (untimed): ${side.label}: ${(sample.wallMs / 1000).toFixed(2)} s`);
  }
}
