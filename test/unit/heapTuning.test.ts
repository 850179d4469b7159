import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HEAP_OPTIONS, keepHeapSmall, restoreEnvironment, smallHeapExec } from '../../src/cli/heapTuning.js';

describe('heap tuning of the single binary', () => {
  it('re-executes itself once with the heap options, keeping the arguments and an operator\'s NODE_OPTIONS', () => {
    const exec = smallHeapExec('/var/recovery/upgrade-recovery', ['/var/recovery/upgrade-recovery', '/var/recovery/upgrade-recovery', 'restore', '--resume'], { PATH: '/usr/bin', NODE_OPTIONS: '--trace-warnings' }, true);
    expect(exec).toEqual({
      file: '/var/recovery/upgrade-recovery',
      args: ['/var/recovery/upgrade-recovery', 'restore', '--resume'],
      env: {
        PATH: '/usr/bin',
        NODE_OPTIONS: `--trace-warnings ${HEAP_OPTIONS}`,
        UPGRADE_RECOVERY_NODE_OPTIONS_BEFORE: '--trace-warnings',
        MALLOC_ARENA_MAX: '2',
        UPGRADE_RECOVERY_MALLOC_ARENA_MAX_BEFORE: '',
        MALLOC_MMAP_THRESHOLD_: '65536',
        UPGRADE_RECOVERY_MALLOC_MMAP_THRESHOLD_BEFORE: '',
        MALLOC_TRIM_THRESHOLD_: '65536',
        UPGRADE_RECOVERY_MALLOC_TRIM_THRESHOLD_BEFORE: '',
      },
    });
    // The second process sees the marker and runs; its children get the operator's options back.
    expect(smallHeapExec('/x', ['/x', '/x'], exec!.env, true)).toBeUndefined();
    const env = { ...exec!.env };
    restoreEnvironment(env);
    expect(env).toEqual({ PATH: '/usr/bin', NODE_OPTIONS: '--trace-warnings' });
  });

  it('keeps an operator\'s malloc settings', () => {
    const env = smallHeapExec('/b', ['/b', '/b'], { MALLOC_ARENA_MAX: '8', MALLOC_TRIM_THRESHOLD_: '0' }, true)!.env;
    expect(env.MALLOC_ARENA_MAX).toBe('8');
    expect(env.MALLOC_TRIM_THRESHOLD_).toBe('0');
    expect(env.MALLOC_MMAP_THRESHOLD_).toBe('65536');
    restoreEnvironment(env);
    expect(env).toEqual({ MALLOC_ARENA_MAX: '8', MALLOC_TRIM_THRESHOLD_: '0' });
  });

  it('leaves a run from source alone, and removes NODE_OPTIONS again when there was none', () => {
    expect(smallHeapExec('/usr/bin/node', ['/usr/bin/node', 'cli.js'], {}, false)).toBeUndefined();
    const env = smallHeapExec('/b', ['/b', '/b'], {}, true)!.env;
    expect(env.NODE_OPTIONS).toBe(HEAP_OPTIONS);
    restoreEnvironment(env);
    expect(env).toEqual({});
  });
});

describe('keepHeapSmall', () => {
  const MiB = 1024 * 1024;
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('collects fully once the heap has grown by a fifth over what the last collection kept, or by 16 MiB where that is more (never below the floor), and the young generation every 8 MiB in between', () => {
    let used = 10 * MiB;
    let live = 30 * MiB;
    const majors: number[] = [];
    const minors: number[] = [];
    const stop = keepHeapSmall((options) => {
      if (options?.type === 'minor') {
        minors.push(used);
        used -= 6 * MiB; // short-lived Buffers freed, some promoted
        return;
      }
      majors.push(used);
      used = live; // what is live
    }, () => ({ inUse: used, committed: 40 * MiB }));
    vi.advanceTimersByTime(200);
    expect([majors, minors]).toEqual([[], []]);
    used = 17 * MiB; // under the floor, 7 MiB of growth: nothing
    vi.advanceTimersByTime(200);
    expect(minors).toEqual([]);
    used = 19 * MiB; // 9 MiB grown: a young-generation collection
    vi.advanceTimersByTime(20);
    expect(minors).toEqual([19 * MiB]);
    used = 40 * MiB; // over the 32 MiB floor: a full one
    vi.advanceTimersByTime(20);
    expect(majors).toEqual([40 * MiB]);
    used = 35 * MiB; // under 1.2 x 30 MiB, and under 30 + 8 MiB
    vi.advanceTimersByTime(200);
    expect([majors.length, minors.length]).toEqual([1, 1]);
    used = 37 * MiB; // over 1.2 x 30 MiB, but under 30 + 16 MiB (and 30 + 8 MiB): nothing
    vi.advanceTimersByTime(200);
    expect([majors.length, minors.length]).toEqual([1, 1]);
    used = 47 * MiB; // over 30 + 16 MiB
    vi.advanceTimersByTime(20);
    expect(majors).toHaveLength(2);
    live = 100 * MiB; // a big plan: a fifth of it is more than 16 MiB
    used = 200 * MiB;
    vi.advanceTimersByTime(20);
    expect(majors).toHaveLength(3);
    used = 118 * MiB; // under 1.2 x 100 MiB (minor ones only)
    vi.advanceTimersByTime(200);
    expect(majors).toHaveLength(3);
    used = 121 * MiB;
    vi.advanceTimersByTime(20);
    expect(majors).toHaveLength(4);
    stop();
    used = 500 * MiB;
    vi.advanceTimersByTime(200);
    expect(majors).toHaveLength(4);
  });

  it('does nothing without an exposed gc (run from source)', () => {
    expect(() => keepHeapSmall(undefined, () => ({ inUse: 0, committed: 0 }))()).not.toThrow();
  });

  it('compacts (the last-resort flavor) only once the heap has committed more than 44 MiB, and calls a regular one with no argument', () => {
    let used = 10 * MiB;
    let committed = 40 * MiB;
    const calls: unknown[][] = [];
    const stop = keepHeapSmall((...args) => {
      calls.push(args);
      used = 30 * MiB;
    }, () => ({ inUse: used, committed }));
    used = 40 * MiB; // over the floor, 44 MiB committed at most: a regular collection
    committed = 44 * MiB;
    vi.advanceTimersByTime(20);
    // gc(undefined) would be a young-generation collection: a regular one takes no argument at all.
    expect(calls).toEqual([[]]);
    used = 47 * MiB;
    committed = 45 * MiB;
    vi.advanceTimersByTime(20);
    expect(calls).toEqual([[], [{ type: 'major', flavor: 'last-resort' }]]);
    stop();
  });
});
