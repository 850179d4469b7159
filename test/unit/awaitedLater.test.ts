import { describe, expect, it } from 'vitest';
import { awaitedLater } from '../../src/core/awaitedLater.js';

describe('awaitedLater', () => {
  it('keeps a failure unhandled-free until awaited, and still delivers it then', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const failing = awaitedLater(Promise.reject(new Error('copy failed')));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
      await expect(failing).rejects.toThrow('copy failed');
      await expect(awaitedLater(Promise.resolve(7))).resolves.toBe(7);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
