import { describe, expect, it } from 'vitest';
import { readJournal, JournalWriter } from '../../src/journal/journal.js';
import { journalState } from '../../src/journal/state.js';
import { legacyRecords, parseLegacyProgress } from '../../src/journal/legacyProgress.js';
import { JOURNAL_FORMAT, type JournalRecord } from '../../src/journal/schema.js';
import { memHost } from '../support/memHost.js';

const FILE = '/var/recovery/restore.journal';
const begin: JournalRecord = { kind: 'begin', format: JOURNAL_FORMAT, version: 1, backupId: 'B1', at: 't0', bootId: 'boot-1', toolVersion: 'x' };
const lines = (records: JournalRecord[]) => records.map((r) => `${JSON.stringify(r)}\n`).join('');

describe('journalState', () => {
  it('knows the steps done, the one started and not finished, the data kept and a permissive SELinux left over', () => {
    const state = journalState([
      begin,
      { kind: 'phase', phase: 'files', at: 't1', bootId: 'boot-1' },
      { kind: 'stepStart', phase: 'files', step: 'stop-kubelet', at: 't2', bootId: 'boot-1' },
      { kind: 'stepEnd', phase: 'files', step: 'stop-kubelet', at: 't3' },
      { kind: 'selinux', mode: 'permissive', at: 't4' },
      { kind: 'stepStart', phase: 'files', step: 'wipe-crio', at: 't5', bootId: 'boot-1' },
    ]);
    expect([...state.done.get('files')!]).toEqual(['stop-kubelet']);
    expect(state.unfinished).toEqual({ phase: 'files', step: 'wipe-crio', at: 't5' });
    expect(state.permissiveLeftOver).toBe(true);
    expect(state.phase).toEqual({ name: 'files', at: 't1', bootId: 'boot-1' });
  });

  it('keeps the data a step recorded, and forgets permissive once enforcing is recorded', () => {
    const state = journalState([
      begin,
      { kind: 'selinux', mode: 'permissive', at: 't1' },
      { kind: 'stepEnd', phase: 'cluster', step: 'note-containers', at: 't2', data: { etcd: 'abc' } },
      { kind: 'selinux', mode: 'enforcing', at: 't3' },
    ]);
    expect(state.data.get('note-containers')).toEqual({ etcd: 'abc' });
    expect(state.permissiveLeftOver).toBe(false);
  });
});

describe('readJournal', () => {
  it('reads a valid journal, and tolerates only a last line cut short', async () => {
    const records: JournalRecord[] = [begin, { kind: 'phase', phase: 'files', at: 't1', bootId: 'b' }];
    const { host } = memHost({ [FILE]: `${lines(records)}{"kind":"stepSt` });
    const contents = await readJournal(host, FILE);
    expect(contents?.records).toEqual(records);
    expect(contents?.tornTail).toBe(true);
    // Appending after a torn tail first cuts it off, so the file stays valid.
    const writer = await JournalWriter.open(host, FILE, true);
    await writer.append({ kind: 'complete', at: 't9' });
    expect((await readJournal(host, FILE))?.records.at(-1)).toEqual({ kind: 'complete', at: 't9' });
  });

  it('reports damage anywhere else, never "not started"', async () => {
    const cases: Array<[string, RegExp]> = [
      [`${lines([begin])}not json\n${lines([{ kind: 'complete', at: 't' }])}`, /line 2 is not JSON/],
      [`${lines([begin])}{"kind":"stepEnd","phase":"nowhere","step":"x","at":"t"}\n`, /line 2: phase/],
      ['', /it is empty/],
      [lines([{ kind: 'complete', at: 't' }]), /does not start with a begin record/],
    ];
    for (const [text, message] of cases) {
      const { host } = memHost({ [FILE]: text });
      await expect(readJournal(host, FILE)).rejects.toMatchObject({ kind: 'precondition', message });
    }
    expect(await readJournal(memHost({}).host, FILE)).toBeUndefined();
  });
});

describe('the old script progress file', () => {
  it('maps its stages onto our phases', () => {
    expect(parseLegacyProgress('started\n')).toEqual({ ok: true, stages: ['started'], phasesDone: [] });
    expect(parseLegacyProgress('started\nrestore_files\n')).toMatchObject({ ok: true, phasesDone: ['files'] });
    expect(parseLegacyProgress('started\nrestore_files\nrestore_cluster\n')).toMatchObject({ ok: true, phasesDone: ['files', 'reboot', 'cluster'] });
    expect(parseLegacyProgress('started\nbogus\n')).toEqual({ ok: false, reason: 'unknown stage "bogus"' });
    expect(parseLegacyProgress('restore_cluster\n')).toMatchObject({ ok: false });
  });

  it('becomes records our runner skips, with no boot id to compare', () => {
    const state = journalState([begin, ...legacyRecords(['files'], 't')]);
    expect(state.done.get('files')?.has('legacy-files')).toBe(true);
    expect(state.phase).toEqual({ name: 'files', at: 't', bootId: '' });
  });
});
