import { describe, expect, it } from 'vitest';
import { checkSpace, GiB } from '../../src/backup/diskSpace.js';
import { RecoveryError } from '../../src/core/errors.js';

describe('checkSpace', () => {
  it('passes only when free space exceeds the estimate plus the margin, compared in bytes', () => {
    expect(checkSpace(20 * GiB + 1, 10 * GiB, 10 * GiB, false, '/var/recovery')).toBeUndefined();
    // The old tool once compared after a unit conversion; one byte short must refuse.
    expect(() => checkSpace(20 * GiB, 10 * GiB, 10 * GiB, false, '/var/recovery')).toThrow(RecoveryError);
  });

  it('names the figures and the way out when it refuses', () => {
    try {
      checkSpace(5 * GiB, 1 * GiB, 10 * GiB, false, '/var/recovery');
      expect.unreachable();
    } catch (error) {
      const e = error as RecoveryError;
      expect(e.kind).toBe('precondition');
      expect(e.message).toContain('5.0 GiB free');
      expect(e.message).toContain('10.0 GiB');
      expect(e.next).toContain('--force');
    }
  });

  it('turns the refusal into a warning with force', () => {
    expect(checkSpace(1, 10 * GiB, 10 * GiB, true, '/var/recovery')).toMatch(/not enough free space/);
  });
});
