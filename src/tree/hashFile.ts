import { createHash } from 'node:crypto';
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
  const hash = createHash('sha256');
  const fd = fs.sync.openSync(path, 'r');
  try {
    for (;;) {
      const bytesRead = fs.sync.readSync(fd, buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      onBytes?.(bytesRead);
      // A big file hands the event loop back between chunks, never between a read and its update.
      await breathe();
    }
  } finally {
    fs.sync.closeSync(fd);
  }
  return hash.digest('hex');
}
