/**
 * A promise started now and awaited later (by its step, or when its turn comes): until then, and
 * if whoever would await it stops early, its failure must not count as unhandled. The failure
 * still reaches whoever awaits the promise returned, which is the same one.
 */
export function awaitedLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
