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
 * glibc gives each thread that mallocs (libuv's pool, V8's helpers) an arena of its own, and each
 * keeps what it freed: two arenas cut the resident memory of a run by 10 to 20 MB.
 */
const ARENAS = '2';
const ARENA_MARKER = 'UPGRADE_RECOVERY_MALLOC_ARENA_MAX_BEFORE';

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
      MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? ARENAS,
      [ARENA_MARKER]: env.MALLOC_ARENA_MAX ?? '',
    },
  };
}

/** Gives the environment back its NODE_OPTIONS and MALLOC_ARENA_MAX, so that no child inherits ours. */
export function restoreEnvironment(env: Record<string, string | undefined>): void {
  for (const [name, marker] of [['NODE_OPTIONS', MARKER], ['MALLOC_ARENA_MAX', ARENA_MARKER]] as const) {
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
/** How far the heap may grow past what the last collection kept. */
const GROWTH = 1.5;

/**
 * With `--expose-gc` (in HEAP_OPTIONS): collects whenever the memory in use (the heap, and the
 * Buffers outside it) has grown by half over what the last collection kept, and is above the floor. V8 alone lets a walk's short-lived garbage
 * pile up in the old generation to several times what is live; a hard --max-old-space-size
 * would do the same work but kill a restore whose plan is genuinely large. The check runs on a
 * timer between the walks' slices, so it costs nothing while nothing allocates.
 */
export function keepHeapSmall(gc: (() => void) | undefined, inUse: () => number): () => void {
  if (!gc) return () => undefined;
  let limit = COLLECT_FLOOR;
  const timer = setInterval(() => {
    if (inUse() < limit) return;
    gc();
    limit = Math.max(COLLECT_FLOOR, GROWTH * inUse());
  }, CHECK_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
