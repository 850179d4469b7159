// The collector policy of src/cli/heapTuning.ts on a real V8 (the Node we ship): a big heap full of
// pages with a few survivors each is given back by the compacting collection, not by a regular one.
import { describe, expect, it } from 'vitest';
import { HEAP_OPTIONS } from '../../src/cli/heapTuning.js';
import { runImporting } from '../support/moduleProcess.js';

const MiB = 1024 * 1024;

/** The heap after keepHeapSmall has had its turn over 60 MB of garbage that left one object in ten. */
async function heapAfterCollections(committedSeen: 'real' | 'zero'): Promise<{ heapTotal: number; heapUsed: number }> {
  const body = `
    const stop = keepHeapSmall(globalThis.gc, () => {
      const m = process.memoryUsage();
      return { inUse: m.heapUsed + m.external, committed: ${committedSeen === 'real' ? 'm.heapTotal' : '0'} };
    });
    const kept = [];
    let garbage = [];
    for (let i = 0; i < 600000; i++) {
      const entry = { path: 'dir/name-' + i, stat: [i, i + 1, i + 2] };
      if (i % 10 === 0) kept.push(entry); else garbage.push(entry);
    }
    garbage = null;
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop();
    const { heapTotal, heapUsed } = process.memoryUsage();
    console.log(JSON.stringify({ heapTotal, heapUsed, kept: kept.length }));`;
  const result = await runImporting('cli/heapTuning', 'keepHeapSmall', body, HEAP_OPTIONS.split(' '));
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { heapTotal: number; heapUsed: number };
}

describe('keepHeapSmall on a real heap', () => {
  it('gives a fragmented heap back once it has committed more than 44 MiB; a regular collection keeps its pages', async () => {
    const compacted = await heapAfterCollections('real');
    const regular = await heapAfterCollections('zero');
    // Both collected the garbage...
    expect(compacted.heapUsed).toBeLessThan(30 * MiB);
    expect(regular.heapUsed).toBeLessThan(30 * MiB);
    // ...but only the compacting one gave the pages back.
    expect(compacted.heapTotal - compacted.heapUsed).toBeLessThan(16 * MiB);
    expect(regular.heapTotal - regular.heapUsed).toBeGreaterThan(32 * MiB);
  });
});
