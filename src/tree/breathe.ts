// The tree walks use synchronous filesystem calls (see HostFsSync in src/host/ports.ts). Between
// slices of that work they hand the event loop back, so that progress lines, the spinner, child
// processes' output and SIGINT/SIGTERM are still served while a million entries go by.

/**
 * Short: a child fed through a pipe gets one pipe's worth (64 KiB) per turn of the event loop. With
 * 30 ms slices, the tar that stages a restore's writes starved while the plan ran, and ended up to
 * 200 ms after it on the bench's /etc; at 5 ms it ends with the plan, and the turns cost nothing
 * that shows.
 */
const SLICE_MS = 5;
let sliceStart = performance.now();

/** Resolves at once while the current slice is short; otherwise after one turn of the event loop. */
export function breathe(): Promise<void> | undefined {
  if (performance.now() - sliceStart < SLICE_MS) return undefined;
  return new Promise((resolve) =>
    setImmediate(() => {
      sliceStart = performance.now();
      resolve();
    }),
  );
}
