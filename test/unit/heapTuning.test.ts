import { describe, expect, it } from 'vitest';
import { HEAP_OPTIONS, restoreEnvironment, smallHeapExec } from '../../src/cli/heapTuning.js';

describe('heap tuning of the single binary', () => {
  it('re-executes itself once with the heap options, keeping the arguments and an operator\'s NODE_OPTIONS', () => {
    const exec = smallHeapExec('/var/recovery/upgrade-recovery', ['/var/recovery/upgrade-recovery', '/var/recovery/upgrade-recovery', 'restore', '--resume'], { PATH: '/usr/bin', NODE_OPTIONS: '--trace-warnings' }, true);
    expect(exec).toEqual({
      file: '/var/recovery/upgrade-recovery',
      args: ['/var/recovery/upgrade-recovery', 'restore', '--resume'],
      env: { PATH: '/usr/bin', NODE_OPTIONS: `--trace-warnings ${HEAP_OPTIONS}`, UPGRADE_RECOVERY_NODE_OPTIONS_BEFORE: '--trace-warnings' },
    });
    // The second process sees the marker and runs; its children get the operator's options back.
    expect(smallHeapExec('/x', ['/x', '/x'], exec!.env, true)).toBeUndefined();
    const env = { ...exec!.env };
    restoreEnvironment(env);
    expect(env).toEqual({ PATH: '/usr/bin', NODE_OPTIONS: '--trace-warnings' });
  });

  it('leaves a run from source alone, and removes NODE_OPTIONS again when there was none', () => {
    expect(smallHeapExec('/usr/bin/node', ['/usr/bin/node', 'cli.js'], {}, false)).toBeUndefined();
    const env = smallHeapExec('/b', ['/b', '/b'], {}, true)!.env;
    expect(env.NODE_OPTIONS).toBe(HEAP_OPTIONS);
    restoreEnvironment(env);
    expect(env).toEqual({});
  });
});
