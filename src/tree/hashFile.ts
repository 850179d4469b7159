import { createHash, hash } from 'node:crypto';
import type { HostFs } from '../host/ports.js';
import { breathe } from './breathe.js';

const CHUNK = 1024 * 1024;
/**
 * One read buffer for every file: a fresh 1 MiB buffer per file made the garbage collector the
 * largest cost of hashing tens of thousands of small files. Safe to share: nothing can run between
 * a synchronous read and the hash update that consumes it.
 */
const buffer = Buffer.allocUnsafe(CHUNK);

/** SHA-256 of a file's content, reporting bytes as they are read (for progress on big files). */
export async function hashFile(fs: HostFs, path: Buffer | string, onBytes?: (n: number) => void): Promise<string> {
  const fd = fs.sync.openSync(path, 'r');
  try {
    // Most files fit in the buffer: hashed in one call, with no hash object left for the garbage
    // collector (a million small files made a million of them, and their native memory).
    let filled = 0;
    for (let read = -1; read !== 0 && filled < CHUNK; filled += read) read = fs.sync.readSync(fd, buffer, filled, CHUNK - filled, null);
    onBytes?.(filled);
    if (filled < CHUNK) return hash('sha256', buffer.subarray(0, filled));
    const digest = createHash('sha256').update(buffer);
    for (;;) {
      // A big file hands the event loop back between chunks, never between a read and its update.
      await breathe();
      const bytesRead = fs.sync.readSync(fd, buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      digest.update(buffer.subarray(0, bytesRead));
      onBytes?.(bytesRead);
    }
    return digest.digest('hex');
  } finally {
    fs.sync.closeSync(fd);
  }
}
