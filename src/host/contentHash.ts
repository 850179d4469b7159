// SHA-256 of a file's content as the hashing and scanning threads read it, holes included but not
// read. A file's holes read as zeros, and reading them makes the kernel zero a page-cache page for
// every 4 KiB of them: the bench node's 256 MiB disk image (32 KiB of data) cost the backup's
// hashing thread 0.67 s of kernel memset, more than all of its SHA-256. Node has no lseek, so the
// holes are found by the one tool every restore already needs: GNU tar's `--sparse` asks
// SEEK_DATA/SEEK_HOLE (which also sees data still only in the page cache) and writes the map of
// the data first in its archive; only the start of that archive is read, and tar is stopped there.
// The data is then read from the file itself and the holes hashed from a buffer of zeros.
//
// Self-contained, as the threads' scripts must be (no module can be loaded into them from the
// single binary): makeContentHasher's source is put into their scripts, and it gets the modules it
// uses as arguments. Anything unexpected (tar missing, an odd archive, the file changing while it
// is hashed) falls back to reading the whole file: the hash is the same either way.

type Fs = typeof import('node:fs');
type Crypto = typeof import('node:crypto');
type ChildProcess = typeof import('node:child_process');

export type ContentHash = (path: Uint8Array, onBytes?: (n: number) => void) => string;

export interface ContentHasher {
  sha256: ContentHash;
  /** Bytes read from files so far (holes not counted): the tests see the holes skipped. */
  bytesRead(): number;
}

/** `tarTimeoutMs`: how long tar may take to map a file's holes (30 s; shorter in the tests). */
export function makeContentHasher(fs: Fs, crypto: Crypto, childProcess: ChildProcess, tarTimeoutMs = 30_000): ContentHasher {
  const CHUNK = 1024 * 1024;
  /** Holes worth a tar process (about 4 ms): the kernel zeroes about 1 MiB of them a millisecond here. */
  const MIN_HOLE_BYTES = 4 * CHUNK;
  /** The archive's start that is read: headers and a map of tens of thousands of data runs. */
  const MAP_MAX_BYTES = 1024 * 1024;
  const BLOCK = 512;
  const buffer = Buffer.allocUnsafe(CHUNK);
  let zeros: Buffer | undefined;
  let read = 0;

  /** As src/tree/hashFile.ts: a file that fits one read is hashed in one call. */
  function sha256(path: Uint8Array, onBytes?: (n: number) => void): string {
    // A Buffer sent to a thread arrives as a plain Uint8Array.
    const fd = fs.openSync(Buffer.from(path.buffer, path.byteOffset, path.byteLength), 'r');
    try {
      let filled = 0;
      for (let n = -1; n !== 0 && filled < CHUNK; filled += n) n = fs.readSync(fd, buffer, filled, CHUNK - filled, null);
      read += filled;
      onBytes?.(filled);
      if (filled < CHUNK) return crypto.hash('sha256', buffer.subarray(0, filled));
      const holes = hashWithHoles(fd, onBytes);
      if (typeof holes !== 'string') return holes.digest('hex');
      // Changed while hashed from its map: read whole again (the buffer holds other bytes now).
      return hashFrom(fd, holes === 'changed' ? 0 : filled, onBytes).digest('hex');
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The file read from `start` on, its bytes before `start` being those in the buffer. */
  function hashFrom(fd: number, start: number, onBytes?: (n: number) => void) {
    const digest = crypto.createHash('sha256').update(buffer.subarray(0, start));
    for (let at = start, n = fs.readSync(fd, buffer, 0, CHUNK, at); n > 0; at += n, n = fs.readSync(fd, buffer, 0, CHUNK, at)) {
      digest.update(buffer.subarray(0, n));
      read += n;
      onBytes?.(n);
    }
    return digest;
  }

  /**
   * The hash read from the file's map of data, or why not: 'unmapped' (not worth it, or no map),
   * 'changed' (the map no longer held by the end). The first chunk was read and reported already:
   * it is hashed again from the map, but not reported twice.
   */
  function hashWithHoles(fd: number, onBytes?: (n: number) => void) {
    const before = fs.fstatSync(fd, { bigint: true });
    if (before.size - before.blocks * 512n < BigInt(MIN_HOLE_BYTES)) return 'unmapped';
    const runs = dataRuns(fd, Number(before.size));
    if (!runs) return 'unmapped';
    zeros ??= Buffer.alloc(CHUNK);
    const digest = crypto.createHash('sha256');
    let at = 0;
    const hashed = (bytes: Buffer) => {
      digest.update(bytes);
      const reported = Math.max(0, at + bytes.length - Math.max(at, CHUNK));
      at += bytes.length;
      if (reported > 0) onBytes?.(reported);
    };
    const hashZerosUntil = (end: number) => {
      while (at < end) hashed(zeros!.subarray(0, Math.min(CHUNK, end - at)));
    };
    for (let i = 0; i < runs.length; i += 2) {
      hashZerosUntil(runs[i]!);
      const end = runs[i]! + runs[i + 1]!;
      while (at < end) {
        const n = fs.readSync(fd, buffer, 0, Math.min(CHUNK, end - at), at);
        // Shorter than its map: it changed since.
        if (n === 0) return 'changed';
        read += n;
        hashed(buffer.subarray(0, n));
      }
    }
    hashZerosUntil(Number(before.size));
    const after = fs.fstatSync(fd, { bigint: true });
    // Data written into a hole after it was mapped would be missed: any write moves these.
    if (after.size !== before.size || after.mtimeNs !== before.mtimeNs || after.ctimeNs !== before.ctimeNs) return 'changed';
    return digest;
  }

  /**
   * Where the data of the open file lies, as offset, length, offset, length... from the start of
   * `tar --sparse` of it (pax format, sparse format 1.0: the map leads the member's data). The file
   * is handed to tar as its fd 3, so any name works.
   */
  function dataRuns(fd: number, size: number): number[] | undefined {
    let archive: Buffer;
    try {
      const run = childProcess.spawnSync(
        'tar',
        ['--create', '--file=-', '--sparse', '--sparse-version=1.0', '--format=posix', '--no-recursion', '--dereference', '--', '/proc/self/fd/3'],
        // Past maxBuffer tar is stopped, and what it wrote so far is kept. A tar that hangs is
        // stopped too, and the file read whole.
        { stdio: ['ignore', 'pipe', 'ignore', fd], maxBuffer: MAP_MAX_BYTES, timeout: tarTimeoutMs },
      );
      if (!(run.status === 0 || (run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOBUFS') || !run.stdout) return undefined;
      archive = run.stdout;
    } catch {
      return undefined;
    }
    return parseSparseMap(archive, size);
  }

  /** The member's pax records and map; undefined for anything but a sparse member of `size` bytes. */
  function parseSparseMap(archive: Buffer, size: number): number[] | undefined {
    const records = new Map<string, string>();
    let at = 0;
    for (;;) {
      if (at + BLOCK > archive.length || archive.toString('latin1', at + 257, at + 262) !== 'ustar') return undefined;
      const type = String.fromCharCode(archive[at + 156]!);
      const length = parseInt(archive.toString('latin1', at + 124, at + 136).replace(/\0.*$/s, '').trim(), 8);
      if (!Number.isSafeInteger(length)) return undefined;
      at += BLOCK;
      if (type !== 'x') break;
      if (at + length > archive.length) return undefined;
      // latin1: one character a byte, as the records' lengths count.
      const text = archive.toString('latin1', at, at + length);
      for (let pos = 0; pos < text.length; ) {
        const space = text.indexOf(' ', pos);
        const recordLength = Number(text.slice(pos, space));
        if (space === -1 || !Number.isSafeInteger(recordLength) || recordLength <= 0) return undefined;
        const record = text.slice(space + 1, pos + recordLength - 1);
        const eq = record.indexOf('=');
        if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
        pos += recordLength;
      }
      at += Math.ceil(length / BLOCK) * BLOCK;
    }
    // No sparse member: tar found no holes after all (the file filled since, or blocks undercount).
    if (records.get('GNU.sparse.major') !== '1' || records.get('GNU.sparse.minor') !== '0') return undefined;
    if (records.get('GNU.sparse.realsize') !== String(size)) return undefined;
    const numbers: number[] = [];
    let count = -1;
    for (let pos = at; count === -1 || numbers.length < 2 * count; ) {
      const newline = archive.indexOf(0x0a, pos);
      if (newline === -1) return undefined;
      const text = archive.toString('latin1', pos, newline);
      if (!/^\d+$/.test(text)) return undefined;
      const value = Number(text);
      if (!Number.isSafeInteger(value)) return undefined;
      if (count === -1) count = value;
      else numbers.push(value);
      pos = newline + 1;
    }
    for (let i = 0, end = 0; i < numbers.length; i += 2) {
      if (numbers[i]! < end || numbers[i]! + numbers[i + 1]! > size) return undefined;
      end = numbers[i]! + numbers[i + 1]!;
    }
    return numbers;
  }

  return { sha256, bytesRead: () => read };
}
