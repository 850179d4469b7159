// Writing files so that a crash leaves either the old content or the new one, never a mix.
import path from 'node:path';
import type { CommandRunner, HostFs } from './ports.js';
import { RecoveryError } from '../core/errors.js';

export async function fsyncDir(fs: HostFs, dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes to a temporary name, fsyncs, renames over the target and fsyncs the directory. */
export async function writeFileDurably(fs: HostFs, file: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const temp = `${file}.tmp-${process.pid}`;
  const handle = await fs.open(temp, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temp, file);
  await fsyncDir(fs, path.dirname(file));
}

/** Points `link` at `target` atomically (symlink at a temporary name, then rename over). */
export async function replaceSymlink(fs: HostFs, target: string, link: string): Promise<void> {
  const temp = `${link}.tmp-${process.pid}`;
  await fs.rm(temp, { force: true });
  await fs.symlink(target, temp);
  await fs.rename(temp, link);
  await fsyncDir(fs, path.dirname(link));
}

export async function exists(fs: HostFs, file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Flushes the whole filesystem that holds `dir` (`sync -f`, syncfs): one call for thousands of
 * files written, where an fsync each would wait on the disk once per file. `what` names the work
 * for the error message.
 */
export async function syncFilesystem(runner: CommandRunner, dir: string, what: string): Promise<void> {
  const run = await runner.run('sync', ['-f', dir]);
  if (run.exitCode !== 0) throw new RecoveryError('failure', `${what}: sync -f ${dir} failed: ${run.stderr.trim() || `exit code ${run.exitCode}`}`);
}
