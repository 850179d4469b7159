// Reads identity.json back. A backup whose backup.json does not list it was taken before identity
// checks existed (or by the old script): that is `undefined`, not an error. One that lists it but
// cannot be read is damaged, and says so.
import path from 'node:path';
import type { Host } from '../host/ports.js';
import { readListedJson } from '../backup/listedJson.js';
import type { BackupSummary } from '../backup/summary.js';
import { IDENTITY_FILE, identityRecordSchema, type IdentityRecord } from './schema.js';

export async function readIdentity(host: Host, generationDir: string, summary: BackupSummary): Promise<IdentityRecord | undefined> {
  if (!summary.files.some((f) => f.name === IDENTITY_FILE)) return undefined;
  return readListedJson(host, path.join(generationDir, IDENTITY_FILE), identityRecordSchema, 'upgrade-recovery verify');
}
