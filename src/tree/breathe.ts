// The tree walks use synchronous filesystem calls (see HostFsSync in src/host/ports.ts). Between
// slices of that work they hand the event loop back, so that progress lines, the spinner, child
// processes' output and SIGINT/SIGTERM are still served while a million entries go by.

const SLICE_MS = 30;
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
