// The restore journal: one JSON object per line, appended and fsynced at every step. It is the
// only record of how far a restore went, across crashes and the reboot in the middle, so every
// line is validated when read back and a damaged one is never taken for "not started".
import { z } from 'zod';

export const JOURNAL_FORMAT = 'upgrade-recovery/restore-journal';

export const phaseNames = ['files', 'reboot', 'cluster', 'redeploy'] as const;
export type PhaseName = (typeof phaseNames)[number];

const at = z.string().min(1);

export const journalRecordSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('begin'),
    format: z.literal(JOURNAL_FORMAT),
    version: z.literal(1),
    /** The backup this restore applies: a journal never applies to another one. */
    backupId: z.string().min(1),
    at,
    bootId: z.string(),
    toolVersion: z.string(),
    /** Set when the journal was made from the old script's `progress` file. */
    importedFrom: z.array(z.string()).optional(),
  }),
  z.object({ kind: z.literal('phase'), phase: z.enum(phaseNames), at, bootId: z.string() }),
  z.object({ kind: z.literal('stepStart'), phase: z.enum(phaseNames), step: z.string().min(1), at, bootId: z.string() }),
  z.object({
    kind: z.literal('stepEnd'),
    phase: z.enum(phaseNames),
    step: z.string().min(1),
    at,
    /** What later steps need from this one (container ids noted before cluster-restore.sh...). */
    data: z.record(z.string(), z.unknown()).optional(),
  }),
  z.object({ kind: z.literal('selinux'), mode: z.enum(['permissive', 'enforcing']), at }),
  z.object({ kind: z.literal('failed'), phase: z.enum(phaseNames), step: z.string(), at, message: z.string() }),
  z.object({ kind: z.literal('interrupted'), at, signal: z.string() }),
  z.object({ kind: z.literal('complete'), at }),
]);

export type JournalRecord = z.infer<typeof journalRecordSchema>;
export type BeginRecord = Extract<JournalRecord, { kind: 'begin' }>;
