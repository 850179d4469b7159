// The single binary re-executes itself once at start, with a smaller young generation for V8.
// Left to its defaults, V8 lets the heap of a process that allocates as fast as a tree walk grow to
// 160 MB of mostly garbage before it collects (measured with --trace-gc by `npm run bench`), while
// what is live stays under 40 MB. pkg's simple SEA mode cannot bake V8 options into the binary, but
// the binary honours NODE_OPTIONS, so it runs itself again through execve (same pid, same
// terminal, same signals) with the option added, and puts NODE_OPTIONS back for its children.

/** Semi-spaces of 4 MB, and gc() for keepHeapSmall below. */
export const HEAP_OPTIONS = '--max-semi-space-size=4 --expose-gc';
const MARKER = 'UPGRADE_RECOVERY_NODE_OPTIONS_BEFORE';
/**
 * glibc's malloc settings, each kept if the operator set it. Each thread that mallocs (libuv's
 * pool, V8's helpers) gets an arena of its own that keeps what it freed: two arenas cut the
 * resident memory of a run by 10 to 20 MB. Blocks of 64 KiB and more get their own mappings, and
 * free memory at the top of the heap goes back above 64 KiB: a million-entry restore plan peaked
 * 11 MB lower, in the same time.
 */
const MALLOC_SETTINGS: ReadonlyArray<readonly [name: string, value: string]> = [
  ['MALLOC_ARENA_MAX', '2'],
  ['MALLOC_MMAP_THRESHOLD_', '65536'],
  ['MALLOC_TRIM_THRESHOLD_', '65536'],
];
/** Where the value before ours is kept ('' for none), so that children get it back. */
const markerOf = (name: string) => `UPGRADE_RECOVERY_${name.replace(/_+$/, '')}_BEFORE`;

export interface Exec {
  file: string;
  args: string[];
  env: Record<string, string | undefined>;
}

/** What to execve into, or undefined when this process already runs with the options. */
export function smallHeapExec(execPath: string, argv: readonly string[], env: Readonly<Record<string, string | undefined>>, singleBinary: boolean): Exec | undefined {
  if (!singleBinary || env[MARKER] !== undefined) return undefined;
  const before = env.NODE_OPTIONS ?? '';
  return {
    file: execPath,
    // A single binary's argv is [binary, binary, ...arguments]; it inserts the second itself.
    args: [execPath, ...argv.slice(2)],
    env: {
      ...env,
      NODE_OPTIONS: `${before} ${HEAP_OPTIONS}`.trim(),
      [MARKER]: before,
      ...Object.fromEntries(MALLOC_SETTINGS.flatMap(([name, value]) => [[name, env[name] ?? value], [markerOf(name), env[name] ?? '']])),
    },
  };
}

/** Gives the environment back its NODE_OPTIONS and malloc settings, so that no child inherits ours. */
export function restoreEnvironment(env: Record<string, string | undefined>): void {
  const restored: Array<[string, string]> = [['NODE_OPTIONS', MARKER], ...MALLOC_SETTINGS.map(([name]) => [name, markerOf(name)] as [string, string])];
  for (const [name, marker] of restored) {
    const before = env[marker];
    if (before === undefined) continue;
    if (before === '') delete env[name];
    else env[name] = before;
    delete env[marker];
  }
}

/** Below this much heap in use, V8 is left to itself. */
const COLLECT_FLOOR = 32 * 1024 * 1024;
const CHECK_EVERY_MS = 20;
/**
 * How far the heap may grow past what the last collection kept: 1.5 let a million-entry restore
 * peak at 172 MiB, 1.2 at 145 MiB, for about a tenth more time in collections.
 */
const GROWTH = 1.2;
/**
 * Growth allowed however little the last collection kept: a backup keeps about 35 MB live, and a
 * fifth of that was a full collection every 7 MB, a third of the main thread while it described
 * a copy. Above 80 MB kept (a big restore plan) the fifth is the larger, and memory the limit.
 */
const MIN_HEADROOM = 16 * 1024 * 1024;
/**
 * Growth since the last collection that a young-generation collection (a millisecond or two) is
 * spent on: a walk's paths are short-lived Buffers in 8 KiB slabs, freed only by a collection,
 * and waiting for the full one let tens of MiB of dead slabs pile up.
 */
const MINOR_STEP = 8 * 1024 * 1024;

/**
 * Committed heap above which a full collection compacts (V8's 'last-resort' flavor): two to three
 * times the work of a regular one, but it empties the pages that hold a few survivors each and
 * gives them back at once, with the external buffers it frees; a regular one leaves them for V8
 * to trim later. A million-entry restore peaked at 138.8 to 144.0 MiB in six runs with it, at
 * 142.4 to 155.8 MiB in six without. Backups and restores of the bench's default scale committed 40
 * to 43 MiB at most (traced), and do not pay for it.
 */
const COMPACT_ABOVE = 44 * 1024 * 1024;

/** `gc` as --expose-gc makes it. */
export type Collect = (options?: { type?: 'major' | 'minor'; flavor?: 'regular' | 'last-resort' }) => void;

/** What the collector's decisions are made on, in bytes. */
export interface HeapMeasure {
  /** The heap in use and the Buffers outside it (garbage ones wait for a collection all the same). */
  inUse: number;
  /** The heap's pages, in use or not. */
  committed: number;
}

/**
 * With `--expose-gc` (in HEAP_OPTIONS): collects whenever the memory in use (the heap, and the
 * Buffers outside it) has grown by a fifth (at least MIN_HEADROOM) over what the last collection
 * kept, and is above the floor; in between, a young-generation collection each time it has grown by MINOR_STEP. V8
 * alone lets a walk's short-lived garbage pile up in the old generation to several times what is
 * live; a hard --max-old-space-size would do the same work but kill a restore whose plan is
 * genuinely large. A full collection compacts once the heap has committed more than COMPACT_ABOVE.
 * The check runs on a timer between the walks' slices, so it costs nothing while nothing allocates.
 */
export function keepHeapSmall(gc: Collect | undefined, measure: () => HeapMeasure): () => void {
  if (!gc) return () => undefined;
  const inUse = () => measure().inUse;
  let limit = COLLECT_FLOOR;
  let minorAt = inUse() + MINOR_STEP;
  const timer = setInterval(() => {
    const { inUse: used, committed } = measure();
    if (used >= limit) {
      // No argument for a regular one: gc(undefined) is taken as a young-generation collection.
      if (committed > COMPACT_ABOVE) gc({ type: 'major', flavor: 'last-resort' });
      else gc();
      const kept = inUse();
      limit = Math.max(COLLECT_FLOOR, kept + Math.max(MIN_HEADROOM, (GROWTH - 1) * kept));
      minorAt = kept + MINOR_STEP;
    } else if (used >= minorAt) {
      gc({ type: 'minor' });
      minorAt = inUse() + MINOR_STEP;
    }
  }, CHECK_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
