// Hashes a batch of files, one after the other: reads are synchronous (src/tree/hashFile.ts), so
// running several at once would only interleave them on the same thread.
import type { HostFs } from '../host/ports.js';
import { hashFile } from './hashFile.js';

/** Calls `done(index, sha256)` for each path, with `onProgress` as bytes and files are read. */
export async function hashMany(
  fs: HostFs,
  paths: ReadonlyArray<Buffer | string>,
  done: (index: number, sha256: string) => void,
  onProgress?: (delta: { files: number; bytes: number }) => void,
): Promise<void> {
  const onBytes = onProgress ? (bytes: number) => onProgress({ files: 0, bytes }) : undefined;
  for (const [index, path] of paths.entries()) {
    done(index, await hashFile(fs, path, onBytes));
    onProgress?.({ files: 1, bytes: 0 });
  }
}
