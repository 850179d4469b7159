// The small interfaces through which the core reaches the outside world. The core never imports
// node:fs, execa or process directly: the CLI builds real implementations (src/host/real.ts) and
// tests pass sandboxes or fakes.
import type * as fsPromises from 'node:fs/promises';
import type * as fsSync from 'node:fs';

/** The filesystem calls the core uses; node:fs/promises satisfies it, and so does memfs. */
export type HostFs = Pick<
  typeof fsPromises,
  | 'lstat'
  | 'stat'
  | 'readdir'
  | 'readFile'
  | 'writeFile'
  | 'appendFile'
  | 'open'
  | 'rename'
  | 'mkdir'
  | 'rm'
  | 'symlink'
  | 'readlink'
  | 'statfs'
  | 'copyFile'
  | 'chmod'
  | 'unlink'
  | 'link'
> & {
  sync: HostFsSync;
  /** Walks a tree in another thread (src/host/treeScan.ts); absent where there is no real disk (memfs). */
  scanTree?: (root: string, ignored: readonly string[], options?: ScanOptions) => TreeScan;
  /** Starts the thread of the next scanTree with ScanOptions.prepared ahead of it (it takes tens of ms to start). */
  prepareScan?: () => void;
  /** Hashes files in another thread (src/host/fileHasher.ts); absent where there is no real disk. */
  startHasher?: () => FileHasher;
  /** Ends the idle thread a closed hasher left for the next one, if any (its memory is wanted). */
  releaseSpareHasher?: () => Promise<void>;
};

export interface FileHasher {
  /** SHA-256 (hex) of each file, in order; `onBytes` hears of the bytes read now and then. */
  hash(paths: ReadonlyArray<Buffer | string>, onBytes?: (n: number) => void): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * A batch of a tree walk done in another thread, in walk order: entry i is rels[i] (relative to the
 * root, '.' for the root itself, bytes as latin1), with what lstat said of it as the manifest
 * holds it (mode with its 0o7777 bits only, size 0 but for files and symlinks, mtime and
 * `dev:ino:ctimeNs` identity as decimal strings, `dev:ino` as inode).
 */
export interface ScanBatch {
  rels: string[];
  types: string[];
  modes: number[];
  uids: number[];
  gids: number[];
  sizes: number[];
  /** 512-byte blocks allocated (what a copy takes on disk: holes do not count). */
  blocks: number[];
  nlinks: number[];
  rdevs: number[];
  mtimes: string[];
  identities: string[];
  inodes: string[];
  /**
   * With ScanOptions.hash: each file's SHA-256 (null for the later names of an inode, and for what
   * is not a file). Empty when the scan asks for neither hashes nor targets.
   */
  sha256s: Array<string | null>;
  /** With ScanOptions.targets: each symlink's target (bytes as latin1), null for the rest; empty as sha256s is. */
  targets: Array<string | null>;
}

export interface ScanOptions {
  /** Hash every file (the first name of an inode only). */
  hash?: boolean;
  /** Read every symlink's target. */
  targets?: boolean;
  /** Take the thread prepareScan started, if one waits (a restore's plan: the thread is for it). */
  prepared?: boolean;
}

export interface TreeScan {
  /** The next batch, undefined at the end; throws what stopped the walk. */
  next(): Promise<ScanBatch | undefined>;
  close(): Promise<void>;
}

/**
 * The synchronous calls the tree walks use. A walk of a million entries makes millions of small
 * calls; through the promise API each costs a trip through the thread pool and a few allocations,
 * several times the syscall itself (measured by `npm run bench`). The walks call these in slices
 * and hand the event loop back between slices (src/tree/breathe.ts).
 */
export type HostFsSync = Pick<typeof fsSync, 'lstatSync' | 'readdirSync' | 'openSync' | 'readSync' | 'closeSync' | 'readlinkSync' | 'fstatSync' | 'renameSync' | 'unlinkSync' | 'linkSync'>;

export interface CommandResult {
  /** 127 when the command could not be started at all (not found, not executable). */
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Set when the command was killed by a signal. */
  signal?: string;
}

export interface RunOptions {
  cwd?: string;
  /** Added to the inherited environment. */
  env?: Record<string, string>;
  /**
   * Written to the command's stdin: text, bytes (NUL-separated names of any bytes), or pieces as
   * they come (an archive streamed into tar; each piece is handed over once and not reused).
   */
  input?: string | Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
  timeoutMs?: number;
  /** Open file descriptors handed to the child as fd 3, 4, ... (see src/tree/xattrs.ts). */
  extraFds?: readonly number[];
  /**
   * Receives stdout as it comes instead of keeping it (`stdout` of the result is then empty):
   * for chatty commands such as `cp -v`, whose output is only counted.
   */
  onStdout?: (chunk: Buffer) => void;
}

/** Runs commands with argument arrays (never through a shell). Never throws for a non-zero exit. */
export interface CommandRunner {
  run(command: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export interface ProcessTable {
  /** Our own process id, written into locks. */
  readonly ownPid: number;
  isAlive(pid: number): boolean;
}

/** Makes and reads tar.gz archives (extras.tgz); node-tar in production. */
export interface Archiver {
  /** Archives `paths` (relative to `cwd`, as in `tar czf file -C cwd paths...`). */
  createTarGz(file: string, cwd: string, paths: readonly string[]): Promise<void>;
  /** Lists the entry paths of an archive. */
  list(file: string): Promise<string[]>;
  /** Unpacks an archive under `cwd` keeping owners, modes and mtimes (`tar xpzf file -C cwd`). */
  extract(file: string, cwd: string): Promise<void>;
}

/** Everything a command of the core needs from the host, in one bundle. */
export interface Host {
  fs: HostFs;
  runner: CommandRunner;
  clock: Clock;
  processes: ProcessTable;
  archiver: Archiver;
  root: import('./nodeRoot.js').NodeRoot;
}
