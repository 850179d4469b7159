// The old upgrade-recovery.sh kept its progress as stage names, one per line, in `<dir>/progress`:
// `started`, then `restore_files` once the files stage ended (reboot pending), then
// `restore_cluster`. A restore the old script began is continued by ours from the same point.
import type { JournalRecord, PhaseName } from './schema.js';

export const LEGACY_STAGES = ['started', 'restore_files', 'restore_cluster'] as const;

export type LegacyParse = { ok: true; stages: string[]; phasesDone: PhaseName[] } | { ok: false; reason: string };

export function parseLegacyProgress(text: string): LegacyParse {
  const stages = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const unknown = stages.find((s) => !(LEGACY_STAGES as readonly string[]).includes(s));
  if (unknown) return { ok: false, reason: `unknown stage "${unknown}"` };
  const phasesDone: PhaseName[] = [];
  if (stages.includes('restore_files')) phasesDone.push('files');
  if (stages.includes('restore_cluster')) {
    if (!stages.includes('restore_files')) return { ok: false, reason: 'restore_cluster without restore_files' };
    // The old script had no separate reboot stage: finishing the cluster stage implies it.
    phasesDone.push('reboot', 'cluster');
  }
  return { ok: true, stages, phasesDone };
}

/**
 * The records that say the same as the old progress file: each finished phase as one finished
 * step named after the old stage. `bootId` is '' because the old script did not record it.
 */
export function legacyRecords(phasesDone: readonly PhaseName[], at: string): JournalRecord[] {
  return phasesDone.flatMap((phase): JournalRecord[] => [
    { kind: 'phase', phase, at, bootId: '' },
    { kind: 'stepEnd', phase, step: `legacy-${phase}`, at },
  ]);
}
