// Hashes several files at once: enough to overlap reading and hashing of small files, few enough
// to keep memory flat. Used wherever a batch of files is checked against the manifest.
import type { HostFs } from '../host/ports.js';
import { hashFile } from './hashFile.js';

export const HASH_CONCURRENCY = 4;

/** Calls `done(index, sha256)` for each path, with `onProgress` as bytes and files are read. */
export async function hashMany(
  fs: HostFs,
  paths: ReadonlyArray<Buffer | string>,
  done: (index: number, sha256: string) => void,
  onProgress?: (delta: { files: number; bytes: number }) => void,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const index = next++;
      const sha256 = await hashFile(fs, paths[index]!, (bytes) => onProgress?.({ files: 0, bytes }));
      onProgress?.({ files: 1, bytes: 0 });
      done(index, sha256);
    }
  };
  await Promise.all(Array.from({ length: HASH_CONCURRENCY }, worker));
}
