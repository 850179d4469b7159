import { createHash } from 'node:crypto';
import type { HostFs } from '../host/ports.js';

const CHUNK = 1024 * 1024;

/** SHA-256 of a file's content, reporting bytes as they are read (for progress on big files). */
export async function hashFile(fs: HostFs, path: Buffer | string, onBytes?: (n: number) => void): Promise<string> {
  const hash = createHash('sha256');
  const handle = await fs.open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      onBytes?.(bytesRead);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}
