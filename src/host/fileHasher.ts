// SHA-256 of files in another thread: a manifest or `verify --data` hashes every file of a tree
// (open, read, hash, close: most of the work), and here that runs on the second core while this
// thread walks the next window of the tree and compares the last one with the manifest.
//
// The worker runs a script of its own (no module can be loaded into it from the single binary), so
// hashWorker below holds everything it uses; src/tree/hashFile.ts hashes the same way in this
// thread, where there is no worker (memfs), and the tests compare the two.
import { Worker } from 'node:worker_threads';
import type { FileHasher } from './ports.js';

interface Reply {
  id: number;
  hashes?: string[];
  /** Bytes read so far of the current request (sent now and then, for progress). */
  bytes?: number;
  error?: string;
  code?: string;
  path?: string;
}

export function startFileHasher(): FileHasher {
  const worker = new Worker(`(${hashWorker.toString()})()`, {
    eval: true,
    // One read buffer and the request at hand.
    resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 },
  });
  // Not what keeps the process alive: a walk left early must not hang the command.
  worker.unref();
  const pending = new Map<number, { resolve: (hashes: string[]) => void; reject: (error: Error) => void; onBytes?: (n: number) => void; seen: number }>();
  let failure: Error | undefined;
  let nextId = 0;
  const failAll = (error: Error) => {
    failure ??= error;
    for (const request of pending.values()) request.reject(error);
    pending.clear();
  };
  worker.on('message', (reply: Reply) => {
    const request = pending.get(reply.id);
    if (!request) return;
    if (reply.bytes !== undefined) {
      request.onBytes?.(reply.bytes - request.seen);
      request.seen = reply.bytes;
      return;
    }
    pending.delete(reply.id);
    if (reply.error !== undefined) request.reject(Object.assign(new Error(reply.error), { code: reply.code, path: reply.path }));
    else request.resolve(reply.hashes!);
  });
  worker.on('error', failAll);
  worker.on('exit', () => failAll(new Error('the hashing thread stopped')));
  return {
    hash(paths, onBytes) {
      if (failure) return Promise.reject(failure);
      const id = nextId++;
      return new Promise<string[]>((resolve, reject) => {
        pending.set(id, { resolve, reject, ...(onBytes ? { onBytes } : {}), seen: 0 });
        worker.postMessage({ id, paths: paths.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)) });
      });
    },
    async close() {
      failure ??= new Error('the hashing thread was closed');
      await worker.terminate();
    },
  };
}

/** The worker's script: self-contained, it sees nothing of this module. */
function hashWorker(): void {
  // Not require(): a bundler may rename it (to its own shim, which the worker does not have).
  const { parentPort } = process.getBuiltinModule('node:worker_threads');
  const fs = process.getBuiltinModule('node:fs');
  const crypto = process.getBuiltinModule('node:crypto');
  const CHUNK = 1024 * 1024;
  /** Bytes between two progress messages while one request reads a lot. */
  const PROGRESS_EVERY = 64 * 1024 * 1024;
  const buffer = Buffer.allocUnsafe(CHUNK);
  parentPort!.on('message', ({ id, paths }: { id: number; paths: Uint8Array[] }) => {
    const hashes: string[] = [];
    let bytes = 0;
    let reported = 0;
    let current: Uint8Array | undefined;
    try {
      for (const path of paths) {
        current = path;
        // A Buffer sent here arrives as a plain Uint8Array.
        const fd = fs.openSync(Buffer.from(path.buffer, path.byteOffset, path.byteLength), 'r');
        try {
          // As src/tree/hashFile.ts: a file that fits one read is hashed in one call.
          let filled = 0;
          for (let read = -1; read !== 0 && filled < CHUNK; filled += read) read = fs.readSync(fd, buffer, filled, CHUNK - filled, null);
          bytes += filled;
          if (filled < CHUNK) {
            hashes.push(crypto.hash('sha256', buffer.subarray(0, filled)));
            continue;
          }
          const digest = crypto.createHash('sha256').update(buffer);
          for (let read = fs.readSync(fd, buffer, 0, CHUNK, null); read > 0; read = fs.readSync(fd, buffer, 0, CHUNK, null)) {
            digest.update(buffer.subarray(0, read));
            bytes += read;
            if (bytes - reported >= PROGRESS_EVERY) {
              reported = bytes;
              parentPort!.postMessage({ id, bytes });
            }
          }
          hashes.push(digest.digest('hex'));
        } finally {
          fs.closeSync(fd);
        }
      }
      parentPort!.postMessage({ id, hashes });
    } catch (error) {
      parentPort!.postMessage({ id, error: (error as Error).message, code: (error as NodeJS.ErrnoException).code, path: current ? Buffer.from(current).toString('latin1') : '' });
    }
  });
}
