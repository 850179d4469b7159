// Reads a manifest back, validating every line and the footer's digest. A damaged or truncated
// manifest is an error naming the file and line, never a shorter list of entries.
import { createHash } from 'node:crypto';
import { breathe } from '../tree/breathe.js';
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
  let header: ManifestHeader | undefined;
  let footer: ManifestFooter | undefined;
  let lineNumber = 0;
  let entries = 0;
  // Synchronous unless onEntry waits: a promise per line would cost more than the line's parse.
  const onLine = (bytes: Buffer): Promise<void> | undefined => {
    lineNumber += 1;
    if (footer) throw new ManifestDamagedError(file, `line ${lineNumber}: data after the footer`);
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
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
      return undefined;
    } else {
      const parsed = manifestEntrySchema.safeParse(value);
      if (!parsed.success) {
        throw new ManifestDamagedError(file, `line ${lineNumber}: ${parsed.error.issues[0]?.message ?? 'invalid entry'}`);
      }
      entries += 1;
      digest.update(bytes);
      digest.update(NEWLINE_BYTES);
      return onEntry(parsed.data) ?? undefined;
    }
    digest.update(bytes);
    digest.update(NEWLINE_BYTES);
    return undefined;
  };
  try {
    await forEachLine(fs, file, onLine);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new RecoveryError('failure', `manifest ${file} is missing`, 'upgrade-recovery backup');
    }
    throw error;
  }
  if (!header) throw new ManifestDamagedError(file, 'empty file');
  if (!footer) throw new ManifestDamagedError(file, `no footer after line ${lineNumber} (incomplete)`);
  return { header, footer };
}

/**
 * A quick pre-read: the lines of a manifest that hold `needle`, found by a byte search over large
 * chunks, parsed as JSON and given to `onLine` without any validation. Lines that are not JSON are
 * skipped. Only for a caller that also reads the same manifest through readManifest, which
 * validates every line and rejects a damaged file.
 */
export function scanManifestLines(fs: HostFs, file: string, needle: string, onLine: (value: unknown) => void): void {
  const wanted = Buffer.from(needle);
  const fd = fs.sync.openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(CHUNK);
    let carry: Buffer = Buffer.alloc(0);
    for (;;) {
      const read = fs.sync.readSync(fd, chunk, 0, CHUNK, null);
      const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, read)]) : chunk.subarray(0, read);
      // Whole lines only, until the end of the file: the rest waits for the next chunk.
      const end = read === 0 ? data.length : data.lastIndexOf(NEWLINE) + 1;
      for (let at = data.indexOf(wanted); at !== -1 && at < end; ) {
        const start = data.lastIndexOf(NEWLINE, at) + 1;
        const stop = data.indexOf(NEWLINE, at);
        const lineEnd = stop === -1 ? data.length : stop;
        try {
          onLine(JSON.parse(data.toString('utf8', start, lineEnd)));
        } catch (error) {
          if (!(error instanceof SyntaxError)) throw error;
        }
        at = data.indexOf(wanted, lineEnd);
      }
      if (read === 0) return;
      carry = Buffer.from(data.subarray(end));
    }
  } finally {
    fs.sync.closeSync(fd);
  }
}

const NEWLINE = 0x0a;
const NEWLINE_BYTES = Buffer.from('\n');
const CHUNK = 1024 * 1024;

/**
 * Calls `onLine` with every line of the file (without its newline, the last one even without
 * one), reading it in large synchronous chunks: a stream with readline costs more per line than
 * parsing it does.
 */
async function forEachLine(fs: HostFs, file: string, onLine: (line: Buffer) => Promise<void> | undefined): Promise<void> {
  const fd = fs.sync.openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(CHUNK);
    let carry: Buffer = Buffer.alloc(0);
    for (;;) {
      const read = fs.sync.readSync(fd, chunk, 0, CHUNK, null);
      if (read === 0) break;
      // Lines are copied out of the chunk: it is overwritten by the next read.
      const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, read)]) : Buffer.from(chunk.subarray(0, read));
      let start = 0;
      for (let end = data.indexOf(NEWLINE); end !== -1; end = data.indexOf(NEWLINE, start)) {
        const pending = onLine(data.subarray(start, end));
        if (pending) await pending;
        start = end + 1;
        const pause = breathe();
        if (pause) await pause;
      }
      carry = data.subarray(start);
    }
    if (carry.length > 0) await onLine(carry);
  } finally {
    fs.sync.closeSync(fd);
  }
}
