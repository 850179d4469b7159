import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseOstreeStatus } from '../../src/ostree/status.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/ostree/${name}`, import.meta.url), 'utf8');

describe('parseOstreeStatus', () => {
  it('reads a single booted, pinned deployment (product docs)', () => {
    const parsed = parseOstreeStatus(fixture('booted-pinned.txt'));
    expect(parsed).toEqual({
      ok: true,
      deployments: [
        expect.objectContaining({ index: 0, booted: true, pinned: true, osname: 'rhcos', serial: 0, version: '49.84.202202230006-0', flags: [] }),
      ],
    });
  });

  it('reads a booted deployment and a pinned rollback target (product docs)', () => {
    const parsed = parseOstreeStatus(fixture('rollback-pinned.txt'));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.deployments.map((d) => [d.index, d.booted, d.pinned, d.flags])).toEqual([
      [0, true, false, []],
      [1, false, true, ['rollback']],
    ]);
    expect(parsed.deployments[1]!.checksum).toBe('ad8f159f9dc4ea7e773fd9604c9a16be0fe9b266ae800ac8470f63abc39b52ca');
  });

  it('reads a sysroot where nothing is booted (Debian ostree on a plain dir)', () => {
    const parsed = parseOstreeStatus(fixture('sandbox-two-unbooted.txt'));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.deployments).toHaveLength(2);
    expect(parsed.deployments.every((d) => !d.booted && !d.pinned)).toBe(true);
  });

  it('reads "No deployments." as an empty list', () => {
    expect(parseOstreeStatus('No deployments.\n')).toEqual({ ok: true, deployments: [] });
  });

  it('refuses garbage and unknown lines instead of skipping them', () => {
    expect(parseOstreeStatus('error: something broke\n').ok).toBe(false);
    const withStray = `${fixture('booted-pinned.txt')}stray text\n`;
    expect(parseOstreeStatus(withStray)).toEqual({ ok: false, reason: expect.stringContaining('stray text') });
  });
});
