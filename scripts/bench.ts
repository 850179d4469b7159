// `npm run bench`: what a maintainer runs before a release. Builds a sandbox SNO node at a chosen
// scale in a temp dir (with a real etcd behind its cluster-backup.sh), then times, interleaved
// round by round, our single binary against the old method:
//   backup            vs  cp -a of /etc, /usr/local, /var/lib/kubelet
//   verify --data     vs  find -type f | xargs sha256sum over the backup's three trees
//   restore (after a  vs  rsync -aAXc --delete --no-t of the three trees
//     5% mutation)
// with a warm page cache and after dropping it (where the machine allows), and prints the medians
// and ratios against the release targets, and writes them as JSON.
//   node scripts/run-ts.mjs scripts/bench.ts [--scale small|default|large|million] [--rounds N]
//     [--cache both|warm|cold] [--only backup,verify,restore] [--no-old] [--no-warmup] [--seed N]
//     [--out FILE] [--keep] [--binary PATH]
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { removeSandbox } from './sandbox/sandboxNode.js';
import { Trash } from './bench/trash.js';
import { startEtcd, type RunningEtcd } from './sandbox/etcd.js';
import { createBenchNode, describeScale, SCALES, type ScaleName } from './bench/benchNode.js';
import { backupBenchmark, BENCH_NAMES, currentGeneration, interleave, restoreBenchmark, verifyBenchmark, warmUp, type Benchmark, type BenchName, type Context } from './bench/benchmarks.js';
import { dropCachesAllowed, GNU_TIME, type CacheMode } from './bench/measure.js';
import { cpuTable, memoryRows, memoryTable, stepsTable, summarise, TARGETS, timeTable, type Row } from './bench/report.js';

const started = Date.now();
const log = (line: string) => {
  const elapsed = Math.round((Date.now() - started) / 1000);
  console.log(`[bench ${String(Math.floor(elapsed / 60)).padStart(3, '0')}:${String(elapsed % 60).padStart(2, '0')}] ${line}`);
};

interface Options {
  scale: ScaleName;
  rounds: number;
  caches: CacheMode[];
  /** The comparisons timed; a backup is always taken first, since verify and restore need one. */
  only: BenchName[];
  skipOld: boolean;
  warmup: boolean;
  seed: number;
  out: string;
  keep: boolean;
  binary: string;
}

function options(): Options {
  const { values } = parseArgs({
    allowNegative: true,
    options: {
      scale: { type: 'string', default: 'default' },
      rounds: { type: 'string', default: '5' },
      cache: { type: 'string' },
      only: { type: 'string', default: 'backup,verify,restore' },
      old: { type: 'boolean' },
      warmup: { type: 'boolean' },
      seed: { type: 'string', default: '1' }, // fixed: "before" and "after" runs see the same tree
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
      binary: { type: 'string', default: 'dist/upgrade-recovery' },
    },
  });
  const fail = (message: string): never => {
    console.error(`bench: ${message}`);
    process.exit(2);
  };
  if (!(values.scale! in SCALES)) fail(`--scale must be one of ${Object.keys(SCALES).join(', ')}`);
  const scale = values.scale as ScaleName;
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) fail('--rounds must be a positive integer');
  // `million` is there for peak memory: one cache mode, no old method, no warm-up, unless asked.
  const million = scale === 'million';
  const cache = values.cache ?? (million ? 'warm' : 'both');
  if (!['both', 'warm', 'cold'].includes(cache)) fail('--cache must be both, warm or cold');
  const only = values.only!.split(',').filter((name) => name !== '');
  const unknown = only.filter((name) => !BENCH_NAMES.includes(name as BenchName));
  if (unknown.length > 0 || only.length === 0) fail(`--only takes a comma-separated list of ${BENCH_NAMES.join(', ')}`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return {
    scale,
    rounds,
    caches: cache === 'both' ? ['warm', 'cold'] : [cache as CacheMode],
    only: only as BenchName[],
    skipOld: values.old === undefined ? million : !values.old,
    warmup: values.warmup ?? !million,
    seed: Number(values.seed),
    out: path.resolve(values.out ?? `.bench/bench-${stamp}.json`),
    keep: values.keep!,
    binary: path.resolve(values.binary!),
  };
}

/** Fails early, before minutes of generating, when a tool is missing. */
function checkTools(binary: string): void {
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run npm run build:binary first`);
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} (GNU time, Debian package \`time\`) is missing: npm run setup`);
}

function machine() {
  const cpus = os.cpus();
  return { cpus: cpus.length, model: cpus[0]?.model ?? 'unknown', memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), kernel: os.release(), loadavg: os.loadavg().map((l) => +l.toFixed(2)) };
}

/** Entry, file and byte counts of the three trees, from the backup's own summary. */
function nodeSize(root: string) {
  const summary = JSON.parse(readFileSync(path.join(currentGeneration(root), 'backup.json'), 'utf8')) as { components: Array<{ name: string; entries: number; files: number; bytes: number }> };
  const components = summary.components.map(({ name, entries, files, bytes }) => ({ name, entries, files, bytes }));
  return { components, entries: components.reduce((n, c) => n + c.entries, 0), files: components.reduce((n, c) => n + c.files, 0), bytes: components.reduce((n, c) => n + c.bytes, 0) };
}

async function main(): Promise<void> {
  const opts = options();
  checkTools(opts.binary);
  const abort = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      log(`${signal}: stopping the command under way, then cleaning up`);
      process.exitCode = signal === 'SIGINT' ? 130 : 143;
      abort.abort(new Error(`interrupted by ${signal}`));
    });
  }
  const scale = SCALES[opts.scale];
  log(`scale ${opts.scale} (${describeScale(scale)}), ${opts.rounds} rounds, cache ${opts.caches.join('+')}, seed ${opts.seed}${opts.skipOld ? ', old methods skipped' : ''}`);
  log(`machine: ${JSON.stringify(machine())}`);
  const drop = await dropCachesAllowed();
  const caches = opts.caches.filter((c) => c === 'warm' || drop.allowed);
  if (!drop.allowed) log(`cold runs skipped: ${drop.reason}`);
  if (caches.length === 0) throw new Error('nothing to run: only cold runs were asked for and the page cache cannot be dropped');

  const work = await mkdtemp(path.join(os.tmpdir(), 'upgrade-recovery-bench-'));
  let etcd: RunningEtcd | undefined;
  const trash = new Trash(path.join(work, 'trash'), log);
  try {
    log(`work dir ${work}; starting a real etcd on loopback`);
    etcd = await startEtcd(path.join(work, 'etcd'));
    for (let i = 0; i < 200; i++) await etcd.put(`/kubernetes.io/bench/key-${String(i).padStart(3, '0')}`, `value-${i}`);
    const node = await createBenchNode(path.join(work, 'node'), scale, opts.seed, etcd, log);
    abort.signal.throwIfAborted();
    // A backup vouches only for entries unchanged for 2 s before its copy (src/backup/treeManifest.ts):
    // on a real node nearly all are older than that, so the generated ones are made older too.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    log('sandbox node ready');

    const context: Context = {
      node,
      work,
      binary: opts.binary,
      runOptions: { signal: abort.signal, timeoutMs: 3 * 3600_000, scratch: work, heartbeat: (s) => log(`  ... still running (${Math.round(s)} s)`) },
      fraction: 0.05,
      seed: opts.seed,
      trash,
    };
    const rows: Row[] = [];
    // Backup first (it leaves the backup the other two need), then verify, then restore.
    if (!opts.only.includes('backup')) await takeBackup(backupBenchmark(context));
    for (const benchmark of [backupBenchmark(context), verifyBenchmark(context), restoreBenchmark(context)]) {
      if (opts.only.includes(benchmark.name)) rows.push(...(await runBenchmark(benchmark, caches, opts)));
    }
    await trash.empty();
    await report(opts, rows, context, drop, work);
  } finally {
    await trash.empty();
    await etcd?.stop().catch((error: Error) => log(`stopping etcd: ${error.message}`));
    if (opts.keep) log(`the sandbox is kept in ${work}`);
    else {
      log(`removing ${work}`);
      await removeSandbox(work);
    }
    log(`done in ${((Date.now() - started) / 60000).toFixed(1)} min`);
  }
}

/** The backup that verify and restore work on, untimed, when the backup comparison is not asked for. */
async function takeBackup(backup: Benchmark): Promise<void> {
  await backup.ours.prepare();
  const sample = await backup.ours.run('warm');
  log(`backup for the other comparisons (untimed): ${(sample.wallMs / 1000).toFixed(2)} s`);
}

async function runBenchmark(benchmark: Benchmark, caches: CacheMode[], opts: Options): Promise<Row[]> {
  if (opts.warmup) await warmUp(benchmark, opts.skipOld, log);
  const rows: Row[] = [];
  for (const cache of caches) rows.push(summarise(await interleave(benchmark, cache, opts.rounds, opts.skipOld, log), benchmark));
  return rows;
}

async function report(opts: Options, rows: Row[], context: Context, drop: { allowed: boolean; reason: string }, work: string): Promise<void> {
  const size = nodeSize(context.node.root);
  const memory = memoryRows(rows, size.entries);
  const mutation = context.mutation ?? [];
  const notes = [
    `scale ${opts.scale}: ${describeScale(SCALES[opts.scale])}; seed ${opts.seed}; ${opts.rounds} rounds, interleaved (ours, old, ours, old, ...), medians shown${opts.rounds < 5 ? ' (fewer than 5 rounds: rough)' : ''}; ratio = the median of the rounds' ratios (ours in round i over the old method right after it), rounds = the lowest and highest of them`,
    `node: ${size.entries.toLocaleString('en')} entries, ${size.files.toLocaleString('en')} files, ${(size.bytes / 2 ** 20).toFixed(0)} MiB (${size.components.map((c) => `${c.name} ${c.entries.toLocaleString('en')}`).join(', ')})`,
    `machine: ${os.cpus().length} cores, load average now ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (other work on the machine skews the figures)`,
    'cpu: GNU time %U + %S around each command: the user and system CPU of the command and every process it waited for, threads included (the restore: both runs); on N cores a command takes at least its CPU / N',
    'peak memory: GNU /usr/bin/time -f %M around each command = peak RSS of the largest single process of its tree (rusage max, not a sum); which process, and the PSS sum of the tree: /proc sampled every 200 ms',
    `cache: warm = no drop (after an untimed warm-up round${opts.warmup ? '' : ': skipped here'}); cold = sync; echo 3 > /proc/sys/vm/drop_caches before each timed command${drop.allowed ? '' : ` -- NOT ALLOWED here: ${drop.reason}`}; sync before every timed command in both modes`,
    'backup: ours includes the ostree step (already pinned after the first run), the etcd snapshot (cluster-backup.sh on a real etcd), exclude list, extras.tgz, the tool copy and a final sync; cp -a copies the 3 trees only. The previous backup/copy is moved aside before each round, off the clock, and deleted at the end (deleted just before, its inodes made file creation several times slower on this machine: ext4 without a journal: scripts/bench/trash.ts); under it, as information only: each old round followed by a SHA-256 of every file of its copy (openssl dgst, which uses the SHA instructions of the CPU, as our hasher does; timed apart, right after cp -a), since our time includes a SHA-256 of every byte copied',
    'verify: ours also checks extras.tgz, the exclude list and the tool copy (step verify-files); sha256sum reads only the 3 trees',
    `restore: judged on the restore of the three trees (steps restore-local, restore-etc, restore-kubelet: plan, staging, renames, deletions, metadata, both flushes), which is what rsync does; the whole restore (restore + reboot (standin-boot, new boot id) + restore --resume, --poll-interval 0.02: also the backup checks before each run, the stand-in node commands, cluster-restore.sh restoring the real etcd, the redeployments and the health report) is shown under it. Each round starts from the same tree: reset to the backup (rsync -aAXH, off the clock), then the same seeded mutation: ${mutation.map((m) => `${m.tree} ${m.changed} changed/${m.deleted} deleted/${m.added} added of ${m.files}`).join(', ')}`,
    'targets are set for the default scale on a 2-core machine; peak-memory targets bind at 1,000,000 entries',
  ];
  console.log(`\n${notes.map((n) => `* ${n}`).join('\n')}\n\n${timeTable(rows)}\n\n${cpuTable(rows, os.cpus().length)}\n\n${memoryTable(memory)}\n\nWhere our time goes (median per step):\n${stepsTable(rows)}\n`);
  const json = {
    tool: 'upgrade-recovery bench',
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date().toISOString(),
    durationS: Math.round((Date.now() - started) / 1000),
    options: { ...opts, out: undefined },
    machine: machine(),
    dropCaches: drop,
    peakRssMethod: 'GNU /usr/bin/time -f %M (peak RSS of the largest single process of the command tree, KiB)',
    targets: TARGETS,
    node: size,
    mutation,
    rows,
    memory,
    notes,
    work: opts.keep ? work : undefined,
  };
  await mkdir(path.dirname(opts.out), { recursive: true });
  await writeFile(opts.out, `${JSON.stringify(json, null, 2)}\n`);
  log(`wrote ${opts.out}`);
}

main().catch((error: Error) => {
  console.error(`bench failed: ${error.message}`);
  process.exitCode ||= 1;
});
