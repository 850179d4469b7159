// Which steps a restore run takes, and which of them walk a tree big enough for the walker thread
// that the run starts ahead of them (src/restore/runRestore.ts).
import { describe, expect, it } from 'vitest';
import type { RestoreBackup } from '../../src/restore/context.js';
import { RESTORE_PHASES } from '../../src/restore/phases.js';
import { stepsOfThisRun } from '../../src/restore/runRestore.js';
import { SCAN_MIN_ENTRIES } from '../../src/restore/treeWalk.js';
import { OTHER_THREAD_MAX_ENTRIES } from '../../src/host/threadBudget.js';

const backupOf = (entries: Record<string, number>) =>
  ({ summary: { components: Object.entries(entries).map(([name, count]) => ({ name, entries: count })) } }) as unknown as Pick<RestoreBackup, 'summary'>;

const ids = (phases: string[]) => RESTORE_PHASES.filter((p) => phases.includes(p.name)).flatMap((p) => p.steps.map((s) => s.id));

describe('the steps of a restore run', () => {
  it('end with the files phase while it is pending, and run to the end after the reboot', () => {
    const first = stepsOfThisRun(RESTORE_PHASES, (phase) => phase.steps);
    expect(first.map((s) => s.id)).toEqual(ids(['files']));
    const resumed = stepsOfThisRun(RESTORE_PHASES, (phase) => (phase.name === 'files' ? [] : phase.steps));
    expect(resumed.map((s) => s.id)).toEqual(ids(['reboot', 'cluster', 'redeploy']));
    expect(resumed.map((s) => s.id)).toContain('restore-kubelet');
  });

  it('that walk a tree in another thread: from a few thousand entries up to the memory bound', () => {
    const scanning = (entries: Record<string, number>) =>
      RESTORE_PHASES.flatMap((p) => p.steps)
        .filter((s) => s.scansTree?.(backupOf(entries)))
        .map((s) => s.id);
    expect(scanning({ etc: SCAN_MIN_ENTRIES, local: 10, kubelet: 2 * SCAN_MIN_ENTRIES })).toEqual(['restore-etc', 'restore-kubelet']);
    expect(scanning({ etc: SCAN_MIN_ENTRIES - 1, local: 10, kubelet: OTHER_THREAD_MAX_ENTRIES + 1 })).toEqual([]);
  });
});
