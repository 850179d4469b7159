// A manifest's entries on demand: readManifest pushes them one after the other, a check that looks
// ahead of where it is (src/manifest/verifyTree.ts) pulls them. Only what the reader needs, plus a
// small read-ahead, is held; the manifest is still validated line by line, its footer last.
import type { HostFs } from '../host/ports.js';
import { entryPath, readManifest } from './reader.js';
import type { ManifestEntry } from './schema.js';

export interface RecordedEntry {
  /** The entry's path, decoded once. */
  rel: Buffer;
  entry: ManifestEntry;
}

/** Entries read past what was asked for, so that the reader is not woken for every one. */
const READ_AHEAD = 256;

/** Thrown into the reader to stop it when the cursor is closed early. */
const CLOSED = Symbol('closed');

export class ManifestCursor {
  private buffer: RecordedEntry[] = [];
  /** Absolute index of buffer[0]. */
  private first = 0;
  /** Entries taken: the absolute index of the next one `take` returns. */
  private next = 0;
  /** How many entries (counted from the first) the reader may read before it waits. */
  private wanted = READ_AHEAD;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private closed = false;
  private wakeReader: (() => void) | undefined;
  /** Callers of `at` waiting for the reader (the merge and the look-up may both wait). */
  private waiting: Array<() => void> = [];
  private readonly reading: Promise<void>;
  private footerDigest: string | undefined;

  constructor(fs: HostFs, file: string) {
    this.reading = readManifest(fs, file, (entry) => {
      if (this.closed) throw CLOSED;
      this.buffer.push({ rel: entryPath(entry), entry });
      this.wake();
      if (this.first + this.buffer.length < this.wanted) return undefined;
      return new Promise<void>((resolve) => (this.wakeReader = resolve));
    }).then(
      ({ footer }) => {
        this.footerDigest = footer.digest;
      },
      (error: unknown) => {
        if (error !== CLOSED) this.failure = { error };
      },
    );
    void this.reading.finally(() => {
      this.ended = true;
      this.wake();
    });
  }

  /** Entries taken so far: the absolute index of the next one `take` returns. */
  get taken(): number {
    return this.next;
  }

  /** The entry at an absolute index when it is already read (no promise, for a tight loop). */
  peek(index: number): RecordedEntry | undefined {
    return index >= this.first ? this.buffer[index - this.first] : undefined;
  }

  /**
   * The entry at an absolute index (not below `taken`), reading up to it; undefined past the last.
   * Throws the reader's error (a damaged or missing manifest) once it has one.
   */
  async at(index: number): Promise<RecordedEntry | undefined> {
    if (index < this.first) throw new Error(`manifest entry ${index} was already taken`);
    for (;;) {
      if (this.failure) throw this.failure.error;
      const available = this.buffer[index - this.first];
      if (available) return available;
      if (this.ended) return undefined;
      this.wanted = Math.max(this.wanted, index + 1 + READ_AHEAD);
      const waiting = new Promise<void>((resolve) => this.waiting.push(resolve));
      const reader = this.wakeReader;
      this.wakeReader = undefined;
      reader?.();
      await waiting;
    }
  }

  /** The next entry in manifest order, undefined after the last (then the footer was valid). */
  async take(): Promise<RecordedEntry | undefined> {
    const entry = await this.at(this.next);
    if (entry === undefined) {
      await this.reading;
      if (this.failure) throw this.failure.error;
      return undefined;
    }
    this.next += 1;
    // Taken entries leave the buffer in slices, not one shift() each.
    const done = this.next - this.first;
    if (done >= READ_AHEAD && done * 2 >= this.buffer.length) {
      this.buffer = this.buffer.slice(done);
      this.first = this.next;
    }
    return entry;
  }

  /** The digest of the manifest's lines, once all were taken (the footer's, checked). */
  async linesDigest(): Promise<string> {
    if ((await this.at(this.next)) !== undefined) throw new Error('the manifest was not read to its end');
    return this.footerDigest!;
  }

  /** Stops the reader (its file is closed) when the entries are not all wanted. */
  async close(): Promise<void> {
    this.closed = true;
    const reader = this.wakeReader;
    this.wakeReader = undefined;
    reader?.();
    await this.reading;
  }

  private wake(): void {
    if (this.waiting.length === 0) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }
}
