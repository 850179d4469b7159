// A JSON file of a backup that backup.json lists (identity.json, images/images.json): read and
// validated, or a precondition error that names the file and says how it is damaged.
import type { z } from 'zod';
import type { Host } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';

export async function readListedJson<T>(host: Host, file: string, schema: z.ZodType<T>, next?: string): Promise<T> {
  let json: unknown;
  try {
    json = JSON.parse(await host.fs.readFile(file, 'utf8'));
  } catch (error) {
    throw new RecoveryError('precondition', `${file} is listed in backup.json but cannot be read (${(error as NodeJS.ErrnoException).code ?? 'not JSON'})`, next);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new RecoveryError('precondition', `${file} is damaged: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`, next);
  return parsed.data;
}
