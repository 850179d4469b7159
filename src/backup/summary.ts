// backup.json: written last into a generation, so its presence (valid, with every manifest it
// names) is what makes a backup complete. state.json: what a partial backup has done so far.
import { z } from 'zod';
import { imagesRecordSchema } from '../images/schema.js';

export const BACKUP_FORMAT = 'upgrade-recovery/backup';

export const componentRecordSchema = z.object({
  name: z.string(),
  /** The node path it was copied from ('/etc'...); the backup-relative dir is `name`. */
  source: z.string(),
  manifest: z.string(),
  manifestSha256: z.string(),
  entries: z.number().int(),
  files: z.number().int(),
  bytes: z.number().int(),
});
export type ComponentRecord = z.infer<typeof componentRecordSchema>;

export const fileRecordSchema = z.object({ name: z.string(), size: z.number().int(), sha256: z.string() });
export type FileRecord = z.infer<typeof fileRecordSchema>;

export const ostreeRecordSchema = z.object({
  osname: z.string(),
  checksum: z.string(),
  serial: z.number().int(),
  version: z.string().optional(),
  removed: z.number().int(),
});

export const clusterRecordSchema = z.object({
  snapshot: z.string(),
  staticResources: z.string(),
  status: z.object({ hash: z.number(), revision: z.number(), totalKey: z.number(), totalSize: z.number() }).optional(),
});

export const extrasRecordSchema = z.object({ archived: z.array(z.string()), missing: z.array(z.string()) });

export const backupSummarySchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  version: z.literal(1),
  id: z.string(),
  createdAt: z.string(),
  completedAt: z.string(),
  toolVersion: z.string(),
  bootId: z.string(),
  ostree: ostreeRecordSchema,
  cluster: clusterRecordSchema,
  components: z.array(componentRecordSchema),
  files: z.array(fileRecordSchema),
  extras: extrasRecordSchema,
  excludeList: z.array(z.string()),
  warnings: z.array(z.string()),
  /** `backup --images` only: the saved container images (src/images/). */
  images: imagesRecordSchema.optional(),
});
export type BackupSummary = z.infer<typeof backupSummarySchema>;

export const backupStateSchema = z.object({
  format: z.literal('upgrade-recovery/backup-state'),
  id: z.string(),
  bootId: z.string(),
  startedAt: z.string(),
  /** Result of each finished step, by step id. */
  results: z.record(z.string(), z.unknown()),
  warnings: z.array(z.string()),
});
export type BackupState = z.infer<typeof backupStateSchema>;
