import { describe, expect, it } from 'vitest';
import { translateLegacyArgs } from '../../src/cli/legacyArgs.js';

describe('translateLegacyArgs (the old upgrade-recovery.sh flags)', () => {
  it.each([
    [['--take-backup'], ['backup']],
    [['--take-backup', '--dir', '/var/recovery'], ['backup', '--dir', '/var/recovery']],
    [['--dir', '/x', '--take-backup'], ['backup', '--dir', '/x']],
    [[], ['restore']],
    [['--resume'], ['restore', '--resume']],
    [['--restart', '--dir', '/x'], ['restore', '--restart', '--dir', '/x']],
    [['--step'], ['restore', '--step']],
    [['--force'], ['restore', '--force']],
    [['backup', '--root', '/host'], ['backup', '--root', '/host']],
    [['verify', '--data'], ['verify', '--data']],
    [['rollback', '--apply', '--yes'], ['rollback', '--apply', '--yes']],
    [['--version'], ['--version']],
    [['--help'], ['--help']],
  ])('%j -> %j', (argv, expected) => {
    expect(translateLegacyArgs(argv)).toEqual(expected);
  });
});
