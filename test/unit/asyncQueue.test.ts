// The queue between a producer and a consumer reading it as an async iterable (the restore's
// archive entries, syslog lines).
import { describe, expect, it } from 'vitest';
import { AsyncQueue } from '../../src/core/asyncQueue.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('AsyncQueue', () => {
  it('hands the consumer everything that waits at once, waits for more, and ends after end()', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    queue.push(2);
    const batches: number[][] = [];
    const reading = (async () => {
      for await (const batch of queue) batches.push([...batch]);
    })();
    await tick();
    expect(batches).toEqual([[1, 2]]);
    queue.push(3);
    await tick();
    queue.push(4);
    queue.push(5);
    queue.end();
    queue.push(6); // after the end: ignored
    await reading;
    expect(batches).toEqual([[1, 2], [3], [4, 5]]);
    expect(queue.ended).toBe(true);
  });

  it('gives the items one by one, in order, across batches', async () => {
    const queue = new AsyncQueue<string>();
    const seen: string[] = [];
    const reading = (async () => {
      for await (const item of queue.each()) seen.push(item);
    })();
    queue.push('a');
    await tick();
    queue.push('b');
    queue.push('c');
    queue.end();
    await reading;
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('makes the consumer throw at its next turn after fail(), whatever still waits', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    queue.push(3); // in the same batch as 1: each() stops before it all the same
    const seen: number[] = [];
    const reading = (async () => {
      for await (const item of queue.each()) {
        seen.push(item);
        queue.push(2);
        queue.fail(new Error('the backup file vanished'));
      }
    })();
    await expect(reading).rejects.toThrow('the backup file vanished');
    expect(seen).toEqual([1]);
  });
});
