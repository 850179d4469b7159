import { describe, expect, it, vi } from 'vitest';
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
      },
    });
    // The second process sees the marker and runs; its children get the operator's options back.
    expect(smallHeapExec('/x', ['/x', '/x'], exec!.env, true)).toBeUndefined();
    const env = { ...exec!.env };
    restoreEnvironment(env);
    expect(env).toEqual({ PATH: '/usr/bin', NODE_OPTIONS: '--trace-warnings' });
  });

  it('keeps an operator\'s MALLOC_ARENA_MAX', () => {
    const env = smallHeapExec('/b', ['/b', '/b'], { MALLOC_ARENA_MAX: '8' }, true)!.env;
    expect(env.MALLOC_ARENA_MAX).toBe('8');
    restoreEnvironment(env);
    expect(env).toEqual({ MALLOC_ARENA_MAX: '8' });
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
  it('collects once the heap has grown by half over what the last collection kept, never below the floor', () => {
    vi.useFakeTimers();
    try {
      const MiB = 1024 * 1024;
      let used = 10 * MiB;
      const collections: number[] = [];
      const stop = keepHeapSmall(() => {
        collections.push(used);
        used = 30 * MiB; // what is live
      }, () => used);
      vi.advanceTimersByTime(200);
      expect(collections).toEqual([]); // under the 32 MiB floor
      used = 40 * MiB;
      vi.advanceTimersByTime(20);
      expect(collections).toEqual([40 * MiB]);
      used = 44 * MiB; // under 1.5 x 30 MiB
      vi.advanceTimersByTime(200);
      expect(collections).toHaveLength(1);
      used = 46 * MiB;
      vi.advanceTimersByTime(20);
      expect(collections).toHaveLength(2);
      stop();
      used = 500 * MiB;
      vi.advanceTimersByTime(200);
      expect(collections).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does nothing without an exposed gc (run from source)', () => {
    expect(() => keepHeapSmall(undefined, () => 0)()).not.toThrow();
  });
});
