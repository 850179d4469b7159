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

describe('parseOstreeStatus, more shapes', () => {
  it('reads one booted deployment that is not pinned', () => {
    const parsed = parseOstreeStatus(fixture('one-unpinned.txt'));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.deployments).toEqual([expect.objectContaining({ index: 0, booted: true, pinned: false, flags: [], version: '410.84.202204050541-0' })]);
  });

  it('reads three deployments: booted, rollback, pinned', () => {
    const parsed = parseOstreeStatus(fixture('three-deployments.txt'));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.deployments.map((d) => [d.index, d.booted, d.pinned, d.flags, d.version])).toEqual([
      [0, true, false, [], '415.92.202402201450-0'],
      [1, false, false, ['rollback'], '414.92.202402051952-0'],
      [2, false, true, [], '414.92.202311150000-0'],
    ]);
  });

  it('reads a staged deployment ahead of the booted one', () => {
    const parsed = parseOstreeStatus(fixture('staged.txt'));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.deployments.map((d) => [d.index, d.booted, d.pinned, d.flags])).toEqual([
      [0, false, false, ['staged']],
      [1, true, true, []],
    ]);
  });

  it('skips detail lines it does not know under a deployment (source title, GPG, new ones)', () => {
    const parsed = parseOstreeStatus(fixture('unknown-detail-lines.txt'));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.deployments.map((d) => [d.booted, d.pinned, d.flags])).toEqual([
      [true, false, []],
      [false, true, ['rollback']],
    ]);
  });

  it('reads a marker it does not know yet, keeping it', () => {
    const text = fixture('rollback-pinned.txt').replace('b0fa.0\n', 'b0fa.0 (soft-reboot target)\n');
    const parsed = parseOstreeStatus(text);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.deployments[0]!.flags).toEqual(['soft-reboot target']);
  });

  it('refuses an unknown line between deployments, empty output and a line before any deployment', () => {
    const [first, ...rest] = fixture('three-deployments.txt').split('\n');
    expect(parseOstreeStatus([first, 'rhcos something else', ...rest].join('\n'))).toEqual({ ok: false, reason: expect.stringContaining('line 2') });
    expect(parseOstreeStatus('')).toEqual({ ok: false, reason: 'empty output' });
    expect(parseOstreeStatus('\n\n')).toEqual({ ok: false, reason: 'empty output' });
    expect(parseOstreeStatus(`    Version: 1\n${fixture('booted-pinned.txt')}`).ok).toBe(false);
    // A checksum cut short is not a header.
    expect(parseOstreeStatus('* rhcos c038a8f08458bbed.0\n').ok).toBe(false);
    expect(parseOstreeStatus('\u0000\u00ff\u0001garbage').ok).toBe(false);
  });
});
