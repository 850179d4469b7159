// Reads identity.json back. A backup whose backup.json does not list it was taken before identity
// checks existed (or by the old script): that is `undefined`, not an error. One that lists it but
// cannot be read is damaged, and says so.
import path from 'node:path';
import type { Host } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import type { BackupSummary } from '../backup/summary.js';
import { IDENTITY_FILE, identityRecordSchema, type IdentityRecord } from './schema.js';

export async function readIdentity(host: Host, generationDir: string, summary: BackupSummary): Promise<IdentityRecord | undefined> {
  if (!summary.files.some((f) => f.name === IDENTITY_FILE)) return undefined;
  const file = path.join(generationDir, IDENTITY_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await host.fs.readFile(file, 'utf8'));
  } catch (error) {
    throw new RecoveryError('precondition', `${file} is listed in backup.json but cannot be read (${(error as NodeJS.ErrnoException).code ?? 'not JSON'})`, 'upgrade-recovery verify');
  }
  const parsed = identityRecordSchema.safeParse(json);
  if (!parsed.success) throw new RecoveryError('precondition', `${file} is damaged: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`, 'upgrade-recovery verify');
  return parsed.data;
}
