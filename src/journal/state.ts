// What a journal says about a restore, derived from its records. Pure: tested on record lists.
import type { BeginRecord, JournalRecord, PhaseName } from './schema.js';

export interface JournalState {
  begin: BeginRecord;
  /** Steps recorded as finished, by phase. */
  done: Map<PhaseName, Set<string>>;
  /** Data recorded by finished steps, by step id. */
  data: Map<string, Record<string, unknown>>;
  /** The step that started and did not finish (a crash or a failure inside it): it is redone. */
  unfinished?: { phase: PhaseName; step: string; at: string };
  /** The last phase entered, and the boot it was entered in. */
  phase?: { name: PhaseName; at: string; bootId: string };
  /** SELinux was set permissive by a run that did not put it back (killed): fix it first. */
  permissiveLeftOver: boolean;
  lastFailure?: { phase: PhaseName; step: string; at: string; message: string };
  complete: boolean;
}

export function journalState(records: readonly JournalRecord[]): JournalState {
  const [begin, ...rest] = records;
  if (!begin || begin.kind !== 'begin') throw new Error('a journal starts with its begin record');
  const state: JournalState = { begin, done: new Map(), data: new Map(), permissiveLeftOver: false, complete: false };
  for (const record of rest) {
    switch (record.kind) {
      case 'phase':
        state.phase = { name: record.phase, at: record.at, bootId: record.bootId };
        break;
      case 'stepStart':
        state.unfinished = { phase: record.phase, step: record.step, at: record.at };
        break;
      case 'stepEnd': {
        const steps = state.done.get(record.phase) ?? new Set<string>();
        steps.add(record.step);
        state.done.set(record.phase, steps);
        if (record.data) state.data.set(record.step, record.data);
        if (state.unfinished?.step === record.step && state.unfinished.phase === record.phase) delete state.unfinished;
        break;
      }
      case 'selinux':
        state.permissiveLeftOver = record.mode === 'permissive';
        break;
      case 'failed':
        state.lastFailure = { phase: record.phase, step: record.step, at: record.at, message: record.message };
        break;
      case 'complete':
        state.complete = true;
        break;
      default:
        break;
    }
  }
  return state;
}

export function isStepDone(state: JournalState, phase: PhaseName, step: string): boolean {
  return state.done.get(phase)?.has(step) ?? false;
}
