/** At most `size` tasks at once; the others wait their turn in the order they asked. */
export class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  async use<T>(task: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, or becomes free.
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    }
  }
}
