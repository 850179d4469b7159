// `rpm-ostree status --json` against recorded outputs (RHCOS 4.10 from an ostree commit, 4.14+
// from a container image): the same deployments as `ostree admin status` shows, with the pending
// and rollback markers ostree prints derived from the order.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseOstreeStatus, parseRpmOstreeStatus, rpmOstreeStatusSchema } from '../../src/ostree/status.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/ostree/${name}`, import.meta.url), 'utf8');
const shape = (name: string) => {
  const parsed = parseRpmOstreeStatus(fixture(name));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.deployments.map((d) => ({ index: d.index, booted: d.booted, pinned: d.pinned, flags: d.flags, checksum: d.checksum, version: d.version }));
};

describe('parseRpmOstreeStatus', () => {
  it('every recorded output passes the schema', () => {
    for (const name of ['booted-pinned', 'rollback-pinned', 'one-unpinned', 'three', 'staged']) {
      expect(rpmOstreeStatusSchema.safeParse(JSON.parse(fixture(`rpm-ostree-${name}.json`))).success, name).toBe(true);
    }
  });

  it('gives the same deployments as ostree admin status for the same node', () => {
    for (const [json, text] of [
      ['rpm-ostree-booted-pinned.json', 'booted-pinned.txt'],
      ['rpm-ostree-rollback-pinned.json', 'rollback-pinned.txt'],
      ['rpm-ostree-one-unpinned.json', 'one-unpinned.txt'],
      ['rpm-ostree-three.json', 'three-deployments.txt'],
    ] as const) {
      const fromText = parseOstreeStatus(fixture(text));
      if (!fromText.ok) throw new Error(fromText.reason);
      expect(shape(json), json).toEqual(fromText.deployments.map((d) => ({ index: d.index, booted: d.booted, pinned: d.pinned, flags: d.flags, checksum: d.checksum, version: d.version })));
    }
  });

  it('marks a staged deployment staged (not pending) and the booted pinned one as it is', () => {
    expect(shape('rpm-ostree-staged.json').map((d) => [d.booted, d.pinned, d.flags])).toEqual([
      [false, false, ['staged']],
      [true, true, []],
    ]);
  });

  it('marks a deployment before the booted one pending, and the first after it rollback', () => {
    const doc = JSON.parse(fixture('rpm-ostree-three.json'));
    doc.deployments[0].booted = false;
    doc.deployments[1].booted = true;
    const parsed = parseRpmOstreeStatus(JSON.stringify(doc));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.deployments.map((d) => d.flags)).toEqual([['pending'], [], ['rollback']]);
  });

  it('accepts an older rpm-ostree that leaves out pinned and staged', () => {
    const doc = JSON.parse(fixture('rpm-ostree-rollback-pinned.json'));
    for (const d of doc.deployments) {
      delete d.staged;
      if (!d.pinned) delete d.pinned;
    }
    const parsed = parseRpmOstreeStatus(JSON.stringify(doc));
    expect(parsed.ok && parsed.deployments.map((d) => [d.pinned, d.flags])).toEqual([
      [false, []],
      [true, ['rollback']],
    ]);
  });

  it('refuses empty output, garbage, a wrong shape and two booted deployments', () => {
    expect(parseRpmOstreeStatus('')).toEqual({ ok: false, reason: 'empty output' });
    expect(parseRpmOstreeStatus('error: Couldn\'t start daemon\n')).toEqual({ ok: false, reason: 'not JSON' });
    expect(parseRpmOstreeStatus('{"deployments": {}}')).toEqual({ ok: false, reason: expect.stringContaining('deployments') });
    const doc = JSON.parse(fixture('rpm-ostree-rollback-pinned.json'));
    doc.deployments[1].checksum = 'ad8f159f';
    expect(parseRpmOstreeStatus(JSON.stringify(doc))).toEqual({ ok: false, reason: expect.stringContaining('deployments.1.checksum') });
    doc.deployments[1].checksum = doc.deployments[0].checksum;
    doc.deployments[1].booted = true;
    expect(parseRpmOstreeStatus(JSON.stringify(doc))).toEqual({ ok: false, reason: 'more than one deployment is marked booted' });
    expect(parseRpmOstreeStatus('[]').ok).toBe(false);
  });
});
