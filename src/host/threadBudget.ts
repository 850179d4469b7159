// How big a tree may be for a second thread to walk or hash it. A thread has a runtime and a heap
// of its own: about 10 MiB idle, 15 to 20 MiB once it has walked or hashed a tree. A run over a
// million entries cannot spare that under its 150 MiB, so a bigger tree is walked and hashed in
// the main thread, a few seconds slower, with no other thread left idle meanwhile.
export const OTHER_THREAD_MAX_ENTRIES = 250_000;

/** Whether a tree of about `entries` entries may be walked or hashed by a second thread. */
export function fitsOtherThread(entries: number): boolean {
  return entries <= OTHER_THREAD_MAX_ENTRIES;
}
