// Reads a manifest back, validating every line and the footer's digest. A damaged or truncated
// manifest is an error naming the file and line, never a shorter list of entries.
import { createHash } from 'node:crypto';
import { breathe } from '../tree/breathe.js';
import type { HostFs } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import { decodeName } from '../tree/pathBytes.js';
import type { z } from 'zod';
import {
  manifestEntryKeysSchema,
  manifestEntrySchema,
  manifestFooterSchema,
  manifestHeaderSchema,
  type ManifestEntry,
  type ManifestEntryKeys,
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
 * Streams the entries of a manifest to `onEntry` in file order, each with the byte offset of its
 * line (for readManifestLine), and returns header and footer. Throws ManifestDamagedError when any
 * line does not validate or the footer is missing or wrong.
 */
export async function readManifest(
  fs: HostFs,
  file: string,
  onEntry: (entry: ManifestEntry, offset: number) => void | Promise<void>,
): Promise<ManifestReadResult> {
  return readLines(fs, file, manifestEntrySchema, onEntry, (parsed) => parsed);
}

/**
 * readManifest for a reader that only places and identifies most entries (a restore plan): each
 * line is checked for its keys only (manifestEntryKeysSchema) and handed on as it was parsed, all
 * its fields there; wholeEntry checks one whole before more of it is used. The footer's digest
 * and count are checked all the same.
 */
export async function readManifestKeys(
  fs: HostFs,
  file: string,
  onEntry: (entry: ManifestEntryKeys, offset: number) => void | Promise<void>,
  byBytes?: SettledByBytes,
): Promise<ManifestReadResult> {
  return readLines(fs, file, manifestEntryKeysSchema, onEntry, (_, value) => value as ManifestEntryKeys, byBytes);
}

/**
 * Entry lines a reader settles from their bytes, before any parse (a restore plan's untouched
 * entries: src/restore/untouchedLine.ts). Only for a manifest checked whole earlier in the same
 * process: `checkedDigest` is the digest of its lines then, and the read fails unless its lines
 * hash to it now, so that a line settled unparsed is one of the lines that were checked.
 */
export interface SettledByBytes {
  checkedDigest: string;
  /** `false`: parse the line as usual; anything else: it counts as an entry, and is awaited. */
  settle(line: Buffer): Promise<void> | undefined | false;
}

/** The entry's path, as bytes (pathB64 for a name that is not UTF-8). */
export function entryPath(entry: ManifestEntryKeys): Buffer {
  return decodeName(entry.path !== undefined ? { text: entry.path } : { base64: entry.pathB64! });
}

/** A line handed on by readManifestKeys, checked whole (its path in the error, as verify would say it). */
export function wholeEntry(file: string, keys: ManifestEntryKeys): ManifestEntry {
  const parsed = manifestEntrySchema.safeParse(keys);
  if (parsed.success) return parsed.data;
  throw new ManifestDamagedError(file, `entry ${keys.path ?? keys.pathB64}: ${parsed.error.issues[0]?.message ?? 'invalid entry'}`);
}

async function readLines<S extends z.ZodType, T>(
  fs: HostFs,
  file: string,
  entrySchema: S,
  onEntry: (entry: T, offset: number) => void | Promise<void>,
  handOn: (parsed: z.infer<S>, value: unknown) => T,
  byBytes?: SettledByBytes,
): Promise<ManifestReadResult> {
  const digest = new LinesDigest();
  let header: ManifestHeader | undefined;
  let footer: ManifestFooter | undefined;
  let lineNumber = 0;
  let entries = 0;
  // Synchronous unless onEntry waits: a promise per line would cost more than the line's parse.
  const onLine = (bytes: Buffer, offset: number, terminated: boolean): Promise<void> | undefined => {
    lineNumber += 1;
    if (footer) throw new ManifestDamagedError(file, `line ${lineNumber}: data after the footer`);
    if (byBytes && lineNumber > 1) {
      const settled = byBytes.settle(bytes);
      if (settled !== false) {
        entries += 1;
        digest.add(bytes, terminated);
        return settled;
      }
    }
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new ManifestDamagedError(file, `line ${lineNumber} is not JSON`);
    }
    let entry: T | undefined;
    if (lineNumber === 1) {
      const parsed = manifestHeaderSchema.safeParse(value);
      if (!parsed.success) throw new ManifestDamagedError(file, `line 1 is not a manifest header`);
      header = parsed.data;
    } else if ((value as { kind?: unknown }).kind === 'footer') {
      const parsed = manifestFooterSchema.safeParse(value);
      if (!parsed.success) throw new ManifestDamagedError(file, `line ${lineNumber}: bad footer`);
      footer = parsed.data;
      if (footer.digest !== digest.hex()) throw new ManifestDamagedError(file, 'digest does not match its content');
      if (footer.entries !== entries) throw new ManifestDamagedError(file, `footer counts ${footer.entries} entries, file has ${entries}`);
      if (byBytes && footer.digest !== byBytes.checkedDigest) throw new ManifestDamagedError(file, 'changed since it was checked before this restore');
      return undefined;
    } else {
      const parsed = entrySchema.safeParse(value);
      if (!parsed.success) {
        throw new ManifestDamagedError(file, `line ${lineNumber}: ${parsed.error.issues[0]?.message ?? 'invalid entry'}`);
      }
      entries += 1;
      entry = handOn(parsed.data as z.infer<S>, value);
    }
    digest.add(bytes, terminated);
    return entry !== undefined ? (onEntry(entry, offset) ?? undefined) : undefined;
  };
  try {
    await forEachLine(fs, file, onLine, () => digest.flush());
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
    const reader = new ChunkReader(fs, fd);
    for (let more = reader.refill(0); ; more = reader.refill(reader.wholeLines)) {
      const { view } = reader;
      // Whole lines only, until the end of the file: a cut line waits for the next chunk.
      const end = more ? reader.wholeLines : view.length;
      for (let at = view.indexOf(wanted); at !== -1 && at < end; ) {
        const stop = view.indexOf(NEWLINE, at);
        const lineEnd = stop === -1 ? view.length : stop;
        try {
          onLine(JSON.parse(view.toString('utf8', view.lastIndexOf(NEWLINE, at) + 1, lineEnd)));
        } catch (error) {
          if (!(error instanceof SyntaxError)) throw error;
        }
        at = view.indexOf(wanted, lineEnd);
      }
      if (!more) return;
    }
  } finally {
    fs.sync.closeSync(fd);
  }
}

/**
 * Entries read back by where their line is, from a manifest that readManifest has read whole (its
 * digest checked), and validated again: a restore keeps where each entry to write is, not the
 * entry itself (a million of them would not fit its memory), and reads the ones it writes when it
 * writes them.
 */
export class ManifestLines {
  private readonly fd: number;
  private buffer = Buffer.allocUnsafe(LINE_GUESS);

  constructor(
    private readonly fs: HostFs,
    private readonly file: string,
  ) {
    this.fd = fs.sync.openSync(file, 'r');
  }

  /** The entry on the line at `offset`; `rel` must be the path that line had when it was read. */
  at(offset: number, rel: Buffer): ManifestEntry {
    for (let filled = 0; ; ) {
      const read = this.fs.sync.readSync(this.fd, this.buffer, filled, this.buffer.length - filled, offset + filled);
      filled += read;
      const end = this.buffer.subarray(0, filled).indexOf(NEWLINE);
      if (end !== -1 || read === 0) {
        const parsed = manifestEntrySchema.safeParse(parseJson(this.buffer.toString('utf8', 0, end === -1 ? filled : end)));
        const entry = parsed.success ? parsed.data : undefined;
        if (!entry || !entryPath(entry).equals(rel)) {
          throw new ManifestDamagedError(this.file, `changed while the restore read it (at byte ${offset})`);
        }
        return entry;
      }
      if (filled === this.buffer.length) {
        const bigger = Buffer.allocUnsafe(this.buffer.length * 2);
        this.buffer.copy(bigger);
        this.buffer = bigger;
      }
    }
  }

  close(): void {
    this.fs.sync.closeSync(this.fd);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const NEWLINE = 0x0a;
const NEWLINE_BYTES = Buffer.from('\n');
const CHUNK = 1024 * 1024;
/** A manifest line is a few hundred bytes; longer ones (many xattrs) are read on. */
const LINE_GUESS = 4096;

/**
 * A file read a large chunk at a time into one buffer used again and again: a new buffer per chunk
 * is memory that only a collection gives back, and a synchronous pass over a manifest of a million
 * lines gives the collector no turn (its resident size rose by 70 MB).
 */
class ChunkReader {
  private buffer = Buffer.allocUnsafe(CHUNK);
  private filled = 0;
  /** The offset in the file of the view's first byte. */
  base = 0;

  constructor(
    private readonly fs: HostFs,
    private readonly fd: number,
  ) {}

  /** The bytes read and not yet let go. */
  get view(): Buffer {
    return this.buffer.subarray(0, this.filled);
  }

  /** Where the last whole line of the view ends (0 when none does). */
  get wholeLines(): number {
    return this.view.lastIndexOf(NEWLINE) + 1;
  }

  /** Lets go of the first `done` bytes and reads more after the rest; false at the end of the file. */
  refill(done: number): boolean {
    this.buffer.copyWithin(0, done, this.filled);
    this.filled -= done;
    this.base += done;
    if (this.filled === this.buffer.length) {
      // A line longer than the buffer.
      const bigger = Buffer.allocUnsafe(this.buffer.length * 2);
      this.buffer.copy(bigger, 0, 0, this.filled);
      this.buffer = bigger;
    }
    const read = this.fs.sync.readSync(this.fd, this.buffer, this.filled, this.buffer.length - this.filled, null);
    this.filled += read;
    return read > 0;
  }
}

/**
 * The SHA-256 of lines as a manifest's footer covers them: each line and a newline. The lines of
 * one chunk lie one after the other in its buffer, a newline between them, and are hashed as one
 * run when the buffer is about to be read into again: two hash updates per line cost a 30,000-line
 * manifest 25 ms, one per chunk about 1.
 */
export class LinesDigest {
  private readonly digest = createHash('sha256');
  private run: { buffer: ArrayBufferLike; start: number; end: number } | undefined;

  /** A line, without its newline; `terminated`: the newline follows it in the same buffer. */
  add(line: Buffer, terminated: boolean): void {
    if (!terminated) {
      // The last line of a file without a final newline: hashed as if it had one.
      this.flush();
      this.digest.update(line);
      this.digest.update(NEWLINE_BYTES);
      return;
    }
    const end = line.byteOffset + line.length + 1;
    if (this.run && this.run.buffer === line.buffer && this.run.end === line.byteOffset) {
      this.run.end = end;
      return;
    }
    this.flush();
    this.run = { buffer: line.buffer, start: line.byteOffset, end };
  }

  /** Hashes the run so far: the buffer its lines are in is about to change. */
  flush(): void {
    if (!this.run) return;
    const { buffer, start, end } = this.run;
    this.digest.update(new Uint8Array(buffer, start, end - start));
    this.run = undefined;
  }

  hex(): string {
    this.flush();
    return this.digest.digest('hex');
  }
}

/**
 * Calls `onLine` with every line of the file (without its newline, the last one even without
 * one), reading it in large synchronous chunks: a stream with readline costs more per line than
 * parsing it does. A line's bytes are only good until `onLine` returns or its promise settles,
 * and until `beforeRefill` is called (then the buffer they are in is read into again).
 */
async function forEachLine(
  fs: HostFs,
  file: string,
  onLine: (line: Buffer, offset: number, terminated: boolean) => Promise<void> | undefined,
  beforeRefill?: () => void,
): Promise<void> {
  const fd = fs.sync.openSync(file, 'r');
  try {
    const reader = new ChunkReader(fs, fd);
    let more = reader.refill(0);
    let view = reader.view;
    let start = 0;
    for (;;) {
      const end = view.indexOf(NEWLINE, start);
      if (end === -1) {
        if (!more) {
          if (start < view.length) await onLine(view.subarray(start), reader.base + start, false);
          return;
        }
        beforeRefill?.();
        more = reader.refill(start);
        view = reader.view;
        start = 0;
        continue;
      }
      const pending = onLine(view.subarray(start, end), reader.base + start, true);
      if (pending) await pending;
      start = end + 1;
      const pause = breathe();
      if (pause) await pause;
    }
  } finally {
    fs.sync.closeSync(fd);
  }
}
