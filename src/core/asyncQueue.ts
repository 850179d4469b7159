// Values handed from a producer to a consumer that reads them as an async iterable, as they come:
// the restore's archive entries as its plan decides them (src/restore/treeStager.ts), syslog lines
// as they are logged (src/ui/syslog.ts). The consumer gets everything that waits at once.
export class AsyncQueue<T> implements AsyncIterable<T[]> {
  private waiting: T[] = [];
  private wake: (() => void) | undefined;
  private failure: { error: unknown } | undefined;
  private closed = false;

  /** Ignored once the queue is ended. */
  push(item: T): void {
    if (this.closed) return;
    this.waiting.push(item);
    this.wake?.();
  }

  /** No more items: the consumer gets those still waiting, then its loop ends. */
  end(): void {
    this.closed = true;
    this.wake?.();
  }

  /** The consumer's loop throws `error` at its next turn, whatever still waits. */
  fail(error: unknown): void {
    this.failure ??= { error };
    this.wake?.();
  }

  get ended(): boolean {
    return this.closed;
  }

  /**
   * The items one by one, each let go of once handed out (a big plan's need not all stay here);
   * fail() stops it before the next item, not only at the next batch.
   */
  async *each(): AsyncGenerator<T> {
    for await (const batch of this) {
      for (let i = 0; i < batch.length; i++) {
        if (this.failure) throw this.failure.error;
        const item = batch[i]!;
        batch[i] = undefined as T;
        yield item;
      }
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T[]> {
    for (;;) {
      if (this.failure) throw this.failure.error;
      if (this.waiting.length > 0) {
        const batch = this.waiting;
        this.waiting = [];
        yield batch;
      } else if (this.closed) {
        return;
      } else {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    }
  }
}
