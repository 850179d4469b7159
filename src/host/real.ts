// Real implementations of the ports. Only the CLI layer constructs these.
import * as fsPromises from 'node:fs/promises';
import { closeSync, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, renameSync, unlinkSync, linkSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { Archiver, Clock, Host, HostFs, ProcessTable } from './ports.js';
import { processRunner } from './processRunner.js';
import { NodeRoot } from './nodeRoot.js';
import { prepareScanWorker, scanTree } from './treeScan.js';
import { releaseSpareHasher, startFileHasher } from './fileHasher.js';

export const realFs: HostFs = {
  ...fsPromises,
  sync: { lstatSync, readdirSync, openSync, readSync, closeSync, readlinkSync, fstatSync, renameSync, unlinkSync, linkSync },
  scanTree,
  prepareScan: prepareScanWorker,
  startHasher: startFileHasher,
  releaseSpareHasher,
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
    runner: processRunner,
    clock: realClock,
    processes: realProcesses,
    archiver: nodeTarArchiver,
    root: new NodeRoot(rootDir),
  };
}
