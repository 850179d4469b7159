// Reads a manifest back, validating every line and the footer's digest. A damaged or truncated
// manifest is an error naming the file and line, never a shorter list of entries.
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { HostFs } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import {
  manifestEntrySchema,
  manifestFooterSchema,
  manifestHeaderSchema,
  type ManifestEntry,
  type ManifestFooter,
  type ManifestHeader,
} from './schema.js';

export class ManifestDamagedError extends RecoveryError {
  constructor(file: string, detail: string) {
    super('failure', `manifest ${file} is damaged: ${detail}`, 'upgrade-recovery verify');
  }
}

export interface ManifestReadResult {
  header: ManifestHeader;
  footer: ManifestFooter;
}

/**
 * Streams the entries of a manifest to `onEntry` in file order and returns header and footer.
 * Throws ManifestDamagedError when any line does not validate or the footer is missing or wrong.
 */
export async function readManifest(
  fs: HostFs,
  file: string,
  onEntry: (entry: ManifestEntry) => void | Promise<void>,
): Promise<ManifestReadResult> {
  const digest = createHash('sha256');
  const lines = createInterface({ input: fs.createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let header: ManifestHeader | undefined;
  let footer: ManifestFooter | undefined;
  let lineNumber = 0;
  let entries = 0;
  try {
    for await (const line of lines) {
      lineNumber += 1;
      if (footer) throw new ManifestDamagedError(file, `line ${lineNumber}: data after the footer`);
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new ManifestDamagedError(file, `line ${lineNumber} is not JSON`);
      }
      if (lineNumber === 1) {
        const parsed = manifestHeaderSchema.safeParse(value);
        if (!parsed.success) throw new ManifestDamagedError(file, `line 1 is not a manifest header`);
        header = parsed.data;
      } else if ((value as { kind?: unknown }).kind === 'footer') {
        const parsed = manifestFooterSchema.safeParse(value);
        if (!parsed.success) throw new ManifestDamagedError(file, `line ${lineNumber}: bad footer`);
        footer = parsed.data;
        if (footer.digest !== digest.digest('hex')) throw new ManifestDamagedError(file, 'digest does not match its content');
        if (footer.entries !== entries) throw new ManifestDamagedError(file, `footer counts ${footer.entries} entries, file has ${entries}`);
        continue;
      } else {
        const parsed = manifestEntrySchema.safeParse(value);
        if (!parsed.success) {
          throw new ManifestDamagedError(file, `line ${lineNumber}: ${parsed.error.issues[0]?.message ?? 'invalid entry'}`);
        }
        entries += 1;
        await onEntry(parsed.data);
      }
      digest.update(`${line}\n`);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new RecoveryError('failure', `manifest ${file} is missing`, 'upgrade-recovery backup');
    }
    throw error;
  } finally {
    lines.close();
  }
  if (!header) throw new ManifestDamagedError(file, 'empty file');
  if (!footer) throw new ManifestDamagedError(file, `no footer after line ${lineNumber} (incomplete)`);
  return { header, footer };
}
