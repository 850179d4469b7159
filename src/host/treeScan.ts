// A walk of a real tree in another thread: the lstat of every entry and the reading of every
// directory (most of what a restore plan spends on a tree of tens of thousands of entries) run on
// the second core while the plan reads its manifest on the first. The entries come back in walk
// order (names sorted by bytes, a directory before what it holds), in batches, each with what the
// plan compares: type, mode, owner, size, links, device, mtime and identity, already as the
// numbers and strings the manifest holds (no BigInt to make on this side).
//
// The worker runs a script of its own (no module can be loaded into it from the single binary), so
// scanWorker below (with makeContentHasher, src/host/contentHash.ts) holds everything it uses;
// liveStatOf (src/restore/treeWalk.ts) says the same for a walk in this thread, and the tree
// restore tests run both.
import { Worker } from 'node:worker_threads';
import type { ScanBatch, ScanOptions, TreeScan } from './ports.js';
import { makeContentHasher } from './contentHash.js';

/** Entries per batch, and batches the worker may be ahead of the reader (fewer, bigger ones when it hashes). */
const BATCH = 512;
const AHEAD = 8;
const HASHED_BATCH = 2048;
const HASHED_AHEAD = 2;

/**
 * A walker thread started ahead of the scan that will need it (prepareScanWorker), taken by the
 * first scan that asks for it (ScanOptions.prepared): a thread takes about 50 ms to start, which a
 * restore's tree step would otherwise wait for before its first entry. It waits for its job, and
 * holds the process open only once it has one.
 */
let ready: Worker | undefined;

/** Starts a walker thread for the next scan, unless one is waiting already. */
export function prepareScanWorker(): void {
  if (ready) return;
  const worker = startWorker();
  const discard = () => {
    if (ready === worker) ready = undefined;
  };
  // An idle thread that fails or ends is not handed out: the next scan starts its own.
  worker.once('error', discard);
  worker.once('exit', discard);
  worker.unref();
  ready = worker;
}

/** Whether a thread started by prepareScanWorker waits for a scan (for tests). */
export function scanWorkerReady(): boolean {
  return ready !== undefined;
}

function startWorker(): Worker {
  return new Worker(`(${scanWorker.toString()})(${makeContentHasher.toString()})`, {
    eval: true,
    // Its heap holds one batch and the directories being walked: a few MiB.
    resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 },
    stdout: false,
    stderr: false,
  });
}

export function scanTree(root: string, ignored: readonly string[], options: ScanOptions = {}): TreeScan {
  const flow = new Int32Array(new SharedArrayBuffer(8)); // [batches sent, batches taken]
  const hashing = options.hash === true;
  const worker = (options.prepared ? ready : undefined) ?? startWorker();
  if (worker === ready) ready = undefined;
  worker.removeAllListeners();
  worker.ref();
  worker.postMessage({ root, ignored, flow, batch: hashing ? HASHED_BATCH : BATCH, ahead: hashing ? HASHED_AHEAD : AHEAD, hash: hashing, targets: options.targets === true });
  const queue: Array<ScanBatch | ScanFailure | 'end'> = [];
  let waiting: (() => void) | undefined;
  const push = (item: (typeof queue)[number]) => {
    queue.push(item);
    waiting?.();
  };
  worker.on('message', (message: ScanBatch | ScanFailure | 'end') => push(message));
  worker.on('error', (error: Error) => push({ error: error.message, what: 'cannot walk', path: root }));
  worker.on('exit', () => push('end'));
  let done = false;
  return {
    async next() {
      for (;;) {
        const item = queue.shift();
        if (item === undefined) {
          if (done) return undefined;
          await new Promise<void>((resolve) => (waiting = resolve));
          waiting = undefined;
          continue;
        }
        if (item === 'end') {
          done = true;
          return undefined;
        }
        if ('error' in item) {
          done = true;
          throw Object.assign(new Error(item.error), { what: item.what, path: item.path });
        }
        Atomics.add(flow, 1, 1);
        Atomics.notify(flow, 1);
        return item;
      }
    },
    async close() {
      done = true;
      await worker.terminate();
    },
  };
}

/** Why the walk stopped: `what` it was doing (`cannot stat`), on which path (bytes as latin1). */
interface ScanFailure {
  error: string;
  what: string;
  path: string;
}

/**
 * The worker's script: self-contained, it sees nothing of this module, and gets makeContentHasher
 * (src/host/contentHash.ts) as its source.
 */
function scanWorker(makeHasher: typeof makeContentHasher): void {
  // Not require(): a bundler may rename it (to its own shim, which the worker does not have).
  const { parentPort } = process.getBuiltinModule('node:worker_threads');
  // Loaded while a thread started ahead waits for its job; crypto and child_process (for the map
  // of a file's holes) only for a walk that hashes (loading crypto took a restore's walk 25 ms).
  const fs = process.getBuiltinModule('node:fs');
  // The job comes as the first message: the thread may have been started before it was known.
  parentPort!.once('message', scan);

  function scan(job: unknown): void {
    const { root, ignored, flow, batch: BATCH, ahead: AHEAD, hash, targets } = job as {
      root: string;
      ignored: string[];
      flow: Int32Array;
      batch: number;
      ahead: number;
      hash: boolean;
      targets: boolean;
    };
    const ignoredSet = new Set(ignored);
    let batch = emptyBatch();
    /** Absolute paths of the batch's entries (for hashing and links), bytes as latin1. */
    let paths: string[] = [];
    /** Inodes of files with several names already seen: the later names are not hashed again. */
    const linked = new Set<string>();
    const contentHash = hash
      ? makeHasher(fs, process.getBuiltinModule('node:crypto'), process.getBuiltinModule('node:child_process')).sha256
      : undefined;

    function emptyBatch() {
      return {
        rels: [] as string[],
        types: [] as string[],
        modes: [] as number[],
        uids: [] as number[],
        gids: [] as number[],
        sizes: [] as number[],
        blocks: [] as number[],
        nlinks: [] as number[],
        rdevs: [] as number[],
        mtimes: [] as string[],
        identities: [] as string[],
        inodes: [] as string[],
        sha256s: [] as Array<string | null>,
        targets: [] as Array<string | null>,
      };
    }
    function sha256Of(abs: string): string {
      try {
        return contentHash!(Buffer.from(abs, 'latin1'));
      } catch (error) {
        throw Object.assign(new Error((error as Error).message), { what: 'cannot read', path: abs });
      }
    }
    /**
     * What the batch needs beyond lstat: its files hashed, its links' targets. The files to hash are
     * the first name of each inode, in walk order (the manifest gives the hash to that one), read in
     * inode order: files copied one after the other lie on the disk in about that order, and a cold
     * cache reads them as fast as sha256sum reads them in the order the directories list them.
     * (Reading ahead with several processes at once, as this did before, made it twice slower.)
     */
    function complete() {
      // A restore's walk asks for neither: nothing per entry to add, nor to send.
      if (!hash && !targets) return;
      const todo: number[] = [];
      for (let i = 0; i < paths.length; i++) {
        if (!hash || batch.types[i] !== 'file') continue;
        const inode = batch.inodes[i]!;
        const later = batch.nlinks[i]! > 1 && linked.has(inode);
        if (batch.nlinks[i]! > 1) linked.add(inode);
        if (!later) todo.push(i);
      }
      const inodeNumber = (i: number) => Number(batch.inodes[i]!.slice(batch.inodes[i]!.indexOf(':') + 1));
      todo.sort((a, b) => inodeNumber(a) - inodeNumber(b));
      const sha256s: Array<string | null> = paths.map(() => null);
      for (const i of todo) sha256s[i] = sha256Of(paths[i]!);
      for (let i = 0; i < paths.length; i++) {
        batch.sha256s.push(sha256s[i] ?? null);
        batch.targets.push(targets && batch.types[i] === 'symlink' ? (fs.readlinkSync(Buffer.from(paths[i]!, 'latin1'), { encoding: 'buffer' }) as Buffer).toString('latin1') : null);
      }
    }
    /**
     * typeOfStat (src/tree/describe.ts) again, this script can import nothing; from the mode as a
     * number: BigIntStats' isFile() and the like make BigInts of their constants at each call.
     */
    function typeOf(mode: number): string {
      switch (mode & 0o170000) {
        case 0o100000:
          return 'file';
        case 0o040000:
          return 'dir';
        case 0o120000:
          return 'symlink';
        case 0o020000:
          return 'char';
        case 0o060000:
          return 'block';
        case 0o010000:
          return 'fifo';
        default:
          return 'socket';
      }
    }
    /** The device's number as text, made once per device rather than once per entry. */
    let devKey: bigint | undefined;
    let devText = '';
    function send() {
      complete();
      // Wait while the reader is AHEAD batches behind: the walk must not outrun the plan's memory.
      while (Atomics.load(flow, 0) - Atomics.load(flow, 1) >= AHEAD) Atomics.wait(flow, 1, Atomics.load(flow, 1), 1000);
      Atomics.add(flow, 0, 1);
      parentPort!.postMessage(batch);
      batch = emptyBatch();
      paths = [];
    }
    /** Adds the entry to the batch; returns its type. */
    function add(rel: string, abs: string, stat: import('node:fs').BigIntStats): string {
      const mode = Number(stat.mode);
      const type = typeOf(mode);
      batch.rels.push(rel);
      batch.types.push(type);
      batch.modes.push(mode & 0o7777);
      batch.uids.push(Number(stat.uid));
      batch.gids.push(Number(stat.gid));
      batch.sizes.push(type === 'file' || type === 'symlink' ? Number(stat.size) : 0);
      batch.blocks.push(Number(stat.blocks));
      batch.nlinks.push(Number(stat.nlink));
      batch.rdevs.push(Number(stat.rdev));
      batch.mtimes.push(stat.mtimeNs.toString());
      // Each BigInt made a string once: most of this thread's own work per entry.
      if (stat.dev !== devKey) {
        devKey = stat.dev;
        devText = `${stat.dev}:`;
      }
      const inode = devText + stat.ino;
      batch.identities.push(`${inode}:${stat.ctimeNs}`);
      batch.inodes.push(inode);
      if (hash || targets) paths.push(abs);
      if (batch.rels.length >= BATCH) send();
      return type;
    }
    function isAscii(text: string): boolean {
      for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
      return true;
    }
    /**
     * `abs` as lstat and readdir take it: the string itself while it is ASCII (as UTF-8 it is the
     * same bytes; the walk knows it from the directory's path and the name), else its bytes.
     */
    function asPath(abs: string, ascii: boolean): string | Buffer {
      return ascii ? abs : Buffer.from(abs, 'latin1');
    }
    function lstat(abs: string, ascii: boolean): import('node:fs').BigIntStats | undefined {
      try {
        return fs.lstatSync(asPath(abs, ascii), { bigint: true });
      } catch (error) {
        // Gone since its directory was read: the plan sees it missing, which it is.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw Object.assign(new Error((error as Error).message), { what: 'cannot stat', path: abs });
      }
    }
    function walk(abs: string, rel: string, ascii: boolean) {
      let names: string[];
      try {
        names = (fs.readdirSync(asPath(abs, ascii), { encoding: 'latin1' }) as string[]).sort();
      } catch (error) {
        throw Object.assign(new Error((error as Error).message), { what: 'cannot read directory', path: abs });
      }
      for (const name of names) {
        const childRel = rel === '' ? name : `${rel}/${name}`;
        if (ignoredSet.has(childRel)) continue;
        const childAbs = `${abs}/${name}`;
        const childAscii = ascii && isAscii(name);
        const stat = lstat(childAbs, childAscii);
        if (!stat) continue;
        if (add(childRel, childAbs, stat) === 'dir') walk(childAbs, childRel, childAscii);
      }
    }
    try {
      const rootAbs = Buffer.from(root).toString('latin1');
      const rootAscii = isAscii(rootAbs);
      const stat = lstat(rootAbs, rootAscii);
      if (stat && add('.', rootAbs, stat) === 'dir') walk(rootAbs, '', rootAscii);
      if (batch.rels.length > 0) send();
      parentPort!.postMessage('end');
    } catch (error) {
      const { what = 'cannot walk', path = root } = error as { what?: string; path?: string };
      parentPort!.postMessage({ error: (error as Error).message, what, path });
    }
  }
}
