// Real implementations of the ports. Only the CLI layer constructs these.
import * as fsPromises from 'node:fs/promises';
import { closeSync, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, renameSync, unlinkSync, linkSync } from 'node:fs';
import { execa } from 'execa';
import { gzipSync } from 'node:zlib';
import type { Archiver, Clock, CommandRunner, Host, HostFs, ProcessTable } from './ports.js';
import { NodeRoot } from './nodeRoot.js';
import { prepareScanWorker, scanTree } from './treeScan.js';
import { startFileHasher } from './fileHasher.js';

export const realFs: HostFs = {
  ...fsPromises,
  sync: { lstatSync, readdirSync, openSync, readSync, closeSync, readlinkSync, fstatSync, renameSync, unlinkSync, linkSync },
  scanTree,
  prepareScan: prepareScanWorker,
  startHasher: startFileHasher,
};

export const execaRunner: CommandRunner = {
  async run(command, args, options = {}) {
    const { input } = options;
    const streamed = input !== undefined && typeof input !== 'string' && !(input instanceof Uint8Array);
    const subprocess = execa(command, [...args], {
      reject: false,
      ...(options.onStdout ? { buffer: { stdout: false } } : {}),
      cwd: options.cwd,
      env: options.env,
      ...(streamed ? { stdin: input } : { input }),
      timeout: options.timeoutMs,
      stripFinalNewline: false,
      encoding: 'utf8',
      // execa passes integer descriptors through to spawn at run time; its types only list streams.
      ...(options.extraFds?.length ? { stdio: ['pipe', 'pipe', 'pipe', ...options.extraFds] as unknown as 'pipe' } : {}),
    });
    if (options.onStdout) subprocess.stdout?.on('data', options.onStdout);
    const result = await subprocess;
    const notStarted = result.exitCode === undefined && !result.signal;
    return {
      exitCode: notStarted ? 127 : (result.exitCode ?? 128),
      stdout: String(result.stdout ?? ''),
      stderr: notStarted ? String(result.stderr || result.shortMessage || '') : String(result.stderr ?? ''),
      ...(result.signal ? { signal: result.signal } : {}),
    };
  },
};

export const realClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export const realProcesses: ProcessTable = {
  ownPid: process.pid,
  isAlive(pid) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      // EPERM means it exists but belongs to someone else: still alive.
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
};

// node-tar is loaded when an archive is made or read: most runs never do, and loading it costs
// megabytes of memory for the whole run.
const loadTar = () => import('tar');

export const nodeTarArchiver: Archiver = {
  async createTarGz(file, cwd, paths) {
    const tar = await loadTar();
    // node-tar refuses an empty list; an empty archive is two zero blocks, gzipped.
    if (paths.length === 0) return fsPromises.writeFile(file, gzipSync(Buffer.alloc(1024)));
    await tar.create({ gzip: true, file, cwd, portable: false }, [...paths]);
  },
  async extract(file, cwd) {
    const tar = await loadTar();
    await tar.extract({ file, cwd, preserveOwner: true, preservePaths: false, unlink: true });
  },
  async list(file) {
    const tar = await loadTar();
    const paths: string[] = [];
    await tar.list({ file, onReadEntry: (entry) => void paths.push(entry.path) });
    return paths;
  },
};

export function realHost(rootDir: string): Host {
  return {
    fs: realFs,
    runner: execaRunner,
    clock: realClock,
    processes: realProcesses,
    archiver: nodeTarArchiver,
    root: new NodeRoot(rootDir),
  };
}
