// Reading, appending to and retiring the restore journal. Appends are one write of one line
// followed by fsync, so a crash leaves at most the last line cut short; that one line is the only
// damage tolerated (the step it would have recorded is redone), anything else stops the restore.
import path from 'node:path';
import type { Host } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import { exists, fsyncDir } from '../host/durable.js';
import { journalRecordSchema, type JournalRecord } from './schema.js';

export class JournalDamagedError extends RecoveryError {
  constructor(file: string, detail: string) {
    super(
      'precondition',
      `the restore journal ${file} is damaged (${detail}); it is the only record of how far the restore went, so nothing was done`,
      `look at the file; if the restore must start over: upgrade-recovery restore --restart`,
    );
  }
}

export interface JournalContents {
  records: JournalRecord[];
  /** The last line was cut short by a crash and ignored. */
  tornTail: boolean;
}

export async function readJournal(host: Host, file: string): Promise<JournalContents | undefined> {
  let text: string;
  try {
    text = await host.fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new JournalDamagedError(file, `cannot be read: ${(error as Error).message}`);
  }
  const lines = text.split('\n');
  const last = lines.pop() ?? '';
  // A line without its newline is the one write a crash interrupted.
  const tornTail = last !== '';
  const records: JournalRecord[] = [];
  for (const [index, line] of lines.entries()) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new JournalDamagedError(file, `line ${index + 1} is not JSON`);
    }
    const parsed = journalRecordSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new JournalDamagedError(file, `line ${index + 1}: ${issue?.path.join('.') || 'record'} ${issue?.message ?? 'invalid'}`);
    }
    records.push(parsed.data);
  }
  if (records.length === 0) throw new JournalDamagedError(file, tornTail ? 'its only line is cut short' : 'it is empty');
  if (records[0]!.kind !== 'begin') throw new JournalDamagedError(file, 'it does not start with a begin record');
  return { records, tornTail };
}

/** Appends records one line each, fsynced before the call returns. */
export class JournalWriter {
  private constructor(
    private readonly host: Host,
    readonly file: string,
  ) {}

  /** Opens an existing journal for appending; a torn last line is cut off first. */
  static async open(host: Host, file: string, tornTail: boolean): Promise<JournalWriter> {
    if (tornTail) {
      const text = await host.fs.readFile(file, 'utf8');
      const handle = await host.fs.open(file, 'r+');
      try {
        await handle.truncate(Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)));
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    return new JournalWriter(host, file);
  }

  /** Creates a new journal whose first line is `begin`; refuses to overwrite one. */
  static async create(host: Host, file: string, begin: JournalRecord): Promise<JournalWriter> {
    const handle = await host.fs.open(file, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(begin)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsyncDir(host.fs, path.dirname(file));
    return new JournalWriter(host, file);
  }

  async append(record: JournalRecord): Promise<void> {
    journalRecordSchema.parse(record);
    const handle = await this.host.fs.open(this.file, 'a');
    try {
      await handle.write(`${JSON.stringify(record)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

/** Moves the journal aside under a dated name (kept as a record, never deleted). */
export async function retireJournal(host: Host, file: string, why: 'done' | 'abandoned', now: Date): Promise<string | undefined> {
  if (!(await exists(host.fs, file))) return undefined;
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const target = `${file}.${why}-${stamp}`;
  await host.fs.rename(file, target);
  await fsyncDir(host.fs, path.dirname(file));
  return target;
}
