// SHA-256 of files in another thread: a manifest or `verify --data` hashes every file of a tree
// (open, read, hash, close: most of the work), and here that runs on the second core while this
// thread walks the next window of the tree and compares the last one with the manifest.
//
// The worker runs a script of its own (no module can be loaded into it from the single binary), so
// hashWorker below (with makeContentHasher, src/host/contentHash.ts) holds everything it uses;
// src/tree/hashFile.ts hashes the same way in this thread, where there is no worker (memfs), and
// the tests compare the two.
import { Worker } from 'node:worker_threads';
import type { FileHasher } from './ports.js';
import { makeContentHasher } from './contentHash.js';

interface Reply {
  id: number;
  hashes?: string[];
  /** Bytes read so far of the current request (sent now and then, for progress). */
  bytes?: number;
  error?: string;
  code?: string;
  path?: string;
}

interface PendingRequest {
  resolve: (hashes: string[]) => void;
  reject: (error: Error) => void;
  onBytes?: (n: number) => void;
  seen: number;
}

/** One hashing thread and the requests it has yet to answer. */
class HashThread {
  readonly worker: Worker;
  readonly pending = new Map<number, PendingRequest>();
  failure: Error | undefined;
  private nextId = 0;

  constructor() {
    started += 1;
    this.worker = new Worker(`(${hashWorker.toString()})(${makeContentHasher.toString()})`, {
      eval: true,
      // One read buffer and the request at hand.
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 },
    });
    this.worker.on('message', (reply: Reply) => this.answer(reply));
    this.worker.on('error', (error) => this.failAll(error));
    this.worker.on('exit', () => this.failAll(new Error('the hashing thread stopped')));
    // Only a thread with requests to answer keeps the process alive: a walk left early, or a
    // spare, must not hang the command (after the listeners, which would hold it again).
    this.worker.unref();
  }

  hash(paths: ReadonlyArray<Buffer | string>, onBytes?: (n: number) => void): Promise<string[]> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    if (this.pending.size === 0) this.worker.ref();
    return new Promise<string[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...(onBytes ? { onBytes } : {}), seen: 0 });
      this.worker.postMessage({ id, paths: paths.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)) });
    });
  }

  private answer(reply: Reply): void {
    const request = this.pending.get(reply.id);
    if (!request) return;
    if (reply.bytes !== undefined) {
      request.onBytes?.(reply.bytes - request.seen);
      request.seen = reply.bytes;
      return;
    }
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.error !== undefined) request.reject(Object.assign(new Error(reply.error), { code: reply.code, path: reply.path }));
    else request.resolve(reply.hashes!);
  }

  failAll(error: Error): void {
    this.failure ??= error;
    for (const request of this.pending.values()) request.reject(error);
    this.pending.clear();
    this.worker.unref();
  }
}

/**
 * A thread given back idle, for the next hasher: starting one costs about 100 ms of CPU (Node's
 * own modules compiled again), and a backup or restore hashes tree after tree. At most one is
 * kept, so two hashers at once still end with one thread alive, and only for SPARE_IDLE_MS: a
 * backup's trees are described as their copies end, close together, and a thread idle longer
 * (through the copy of a big tree) holds its memory for nothing.
 */
let spare: HashThread | undefined;
let spareTimer: NodeJS.Timeout | undefined;
export const SPARE_IDLE_MS = 3000;
let started = 0;

/** How many hashing threads this process has started (the tests see the spare reused). */
export function hashThreadsStarted(): number {
  return started;
}

/**
 * Ends the spare thread, if one waits: an idle thread still holds its runtime and heap (about 15
 * MiB), which a walk of hundreds of thousands of entries in this thread cannot spare.
 */
export async function releaseSpareHasher(): Promise<void> {
  const thread = takeSpare();
  await thread?.worker.terminate();
}

function takeSpare(): HashThread | undefined {
  const thread = spare;
  spare = undefined;
  clearTimeout(spareTimer);
  return thread;
}

export function startFileHasher(): FileHasher {
  const thread = takeSpare() ?? new HashThread();
  let closed = false;
  return {
    hash(paths, onBytes) {
      if (closed) return Promise.reject(new Error('the hashing thread was closed'));
      return thread.hash(paths, onBytes);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (!thread.failure && thread.pending.size === 0 && spare === undefined) {
        spare = thread;
        spareTimer = setTimeout(() => void releaseSpareHasher(), SPARE_IDLE_MS).unref();
        return;
      }
      thread.failAll(new Error('the hashing thread was closed'));
      await thread.worker.terminate();
    },
  };
}

/**
 * The worker's script: self-contained, it sees nothing of this module, and gets makeContentHasher
 * (src/host/contentHash.ts) as its source.
 */
function hashWorker(makeHasher: typeof makeContentHasher): void {
  // Not require(): a bundler may rename it (to its own shim, which the worker does not have).
  const { parentPort } = process.getBuiltinModule('node:worker_threads');
  const { sha256 } = makeHasher(process.getBuiltinModule('node:fs'), process.getBuiltinModule('node:crypto'), process.getBuiltinModule('node:child_process'));
  /** Bytes between two progress messages while one request reads a lot. */
  const PROGRESS_EVERY = 64 * 1024 * 1024;
  parentPort!.on('message', ({ id, paths }: { id: number; paths: Uint8Array[] }) => {
    const hashes: string[] = [];
    let bytes = 0;
    let reported = 0;
    const onBytes = (n: number) => {
      bytes += n;
      if (bytes - reported < PROGRESS_EVERY) return;
      reported = bytes;
      parentPort!.postMessage({ id, bytes });
    };
    let current: Uint8Array | undefined;
    try {
      for (const path of paths) {
        current = path;
        hashes.push(sha256(path, onBytes));
      }
      parentPort!.postMessage({ id, hashes });
    } catch (error) {
      parentPort!.postMessage({ id, error: (error as Error).message, code: (error as NodeJS.ErrnoException).code, path: current ? Buffer.from(current).toString('latin1') : '' });
    }
  });
}
