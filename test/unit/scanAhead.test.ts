// The walker thread of a restore's big tree is started a step ahead of it, within the run.
import { describe, expect, it } from 'vitest';
import type { StepContext } from '../../src/restore/context.js';
import { RESTORE_PHASES } from '../../src/restore/phases.js';
import { prepareScanAhead } from '../../src/restore/runRestore.js';
import { SCAN_MAX_ENTRIES, SCAN_MIN_ENTRIES } from '../../src/restore/treeWalk.js';

function contextWith(entries: Record<string, number>): { context: StepContext; prepared: () => number } {
  let calls = 0;
  const components = Object.entries(entries).map(([name, count]) => ({ name, entries: count }));
  const context = {
    host: { fs: { prepareScan: () => (calls += 1) } },
    backup: { summary: { components } },
  } as unknown as StepContext;
  return { context, prepared: () => calls };
}

/** The steps of a run: the files phase, or what comes after the reboot. */
const run = (...names: string[]) => RESTORE_PHASES.filter((p) => names.includes(p.name)).flatMap((p) => p.steps);
/** The steps before which a thread is started. */
function preparedBefore(steps: ReturnType<typeof run>, entries: Record<string, number>): string[] {
  const { context, prepared } = contextWith(entries);
  const ids: string[] = [];
  steps.forEach((step, i) => {
    const before = prepared();
    prepareScanAhead(steps, i, context);
    if (prepared() > before) ids.push(step.id);
  });
  return ids;
}

describe('the walker thread started ahead of a big tree', () => {
  it('is started before each step that comes before a big tree in the same run, and not after it', () => {
    const files = run('files');
    const ids = files.map((s) => s.id);
    expect(preparedBefore(files, { etc: SCAN_MIN_ENTRIES, local: 10, kubelet: 10 })).toEqual(ids.slice(0, ids.indexOf('restore-etc')));
    // After the reboot: while the reboot is confirmed, ahead of /var/lib/kubelet.
    const resumed = run('reboot', 'cluster', 'redeploy');
    expect(preparedBefore(resumed, { etc: 10, local: 10, kubelet: 2 * SCAN_MIN_ENTRIES })).toEqual(['confirm-reboot']);
  });

  it('is not started for trees walked in this thread: small ones, and those too big to spare its memory', () => {
    const walkedHere = { etc: SCAN_MIN_ENTRIES - 1, local: 10, kubelet: SCAN_MAX_ENTRIES + 1 };
    expect(preparedBefore(run('files'), walkedHere)).toEqual([]);
    expect(preparedBefore(run('reboot', 'cluster', 'redeploy'), walkedHere)).toEqual([]);
  });
});
