// The single binary re-executes itself once at start, with a smaller young generation for V8.
// Left to its defaults, V8 lets the heap of a process that allocates as fast as a tree walk grow to
// 160 MB of mostly garbage before it collects (measured with --trace-gc by `npm run bench`), while
// what is live stays under 40 MB. pkg's simple SEA mode cannot bake V8 options into the binary, but
// the binary honours NODE_OPTIONS, so it runs itself again through execve (same pid, same
// terminal, same signals) with the option added, and puts NODE_OPTIONS back for its children.

/** Semi-spaces of 4 MB: the backup of a 42,000-entry node peaks at ~140 MB instead of ~230 MB. */
export const HEAP_OPTIONS = '--max-semi-space-size=4';
const MARKER = 'UPGRADE_RECOVERY_NODE_OPTIONS_BEFORE';

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
    env: { ...env, NODE_OPTIONS: `${before} ${HEAP_OPTIONS}`.trim(), [MARKER]: before },
  };
}

/** Gives the environment back its NODE_OPTIONS, so that no child process inherits ours. */
export function restoreEnvironment(env: Record<string, string | undefined>): void {
  const before = env[MARKER];
  if (before === undefined) return;
  if (before === '') delete env.NODE_OPTIONS;
  else env.NODE_OPTIONS = before;
  delete env[MARKER];
}
