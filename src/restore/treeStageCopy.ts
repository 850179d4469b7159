// What a restore stages one entry at a time, with cp: big files (the kernel copies them, or
// shares their blocks where the filesystem can, where an archive would pass every byte through two
// processes), files whose backup copy has holes (cp finds them with SEEK_HOLE; an archive would
// write zeros), and sockets (an archive has no such member). The source is handed to cp as an open
// descriptor (/proc/self/fd/3), so a name of any bytes passes; owner, mode, ACLs, nanosecond times
// and xattrs come with it, and a failure to keep any of them fails the copy. cp reads a special
// file's xattrs by its path, which is then the descriptor's link, not the socket: a socket's are
// set from its manifest line (setSocketXattrs).
import type { Host } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import { displayPath } from '../tree/pathBytes.js';
import { firstLine } from '../core/firstLine.js';
import { backupDamaged } from './treeChecks.js';

/** Files from this size up are copied by cp rather than streamed through the archive. */
export const COPY_ALONE_MIN_BYTES = 8 * 1024 * 1024;

const O_PATH = 0o10000000;
const O_NOFOLLOW = 0o400000;

export async function stageByCopy(host: Host, source: Buffer, target: string, what: string): Promise<void> {
  let fd: number;
  try {
    fd = host.fs.sync.openSync(source, O_PATH | O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw backupDamaged(source);
    throw new RecoveryError('failure', `${what}: cannot open ${displayPath(source)}: ${(error as Error).message}`);
  }
  try {
    // -H: the descriptor's link is followed, and a socket is made again rather than opened (-R).
    const run = await host.runner.run('cp', ['-R', '-H', '--preserve=mode,ownership,timestamps,xattr', '--sparse=auto', '--', '/proc/self/fd/3', target], { extraFds: [fd] });
    if (run.exitCode === 0) return;
    if (run.exitCode === 127) throw new RecoveryError('failure', `${what}: cp is not available (package coreutils)`);
    if (/No space left on device/.test(run.stderr)) throw new RecoveryError('failure', `${what}: No space left on device`);
    throw new RecoveryError('failure', `${what}: cp of ${displayPath(source)} failed: ${run.stderr.trim().split('\n')[0] || `exit code ${run.exitCode}`}`);
  } finally {
    host.fs.sync.closeSync(fd);
  }
}

/** Sets a staged socket's xattrs (base64 values, as the manifest records them) with one setfattr. */
export async function setSocketXattrs(host: Host, target: string, xattrs: Record<string, string>, what: string): Promise<void> {
  const names = Object.keys(xattrs);
  if (names.length === 0) return;
  // getfattr's dump format; the staged name is plain ASCII.
  const dump = `# file: ${target}\n${names.map((name) => `${name}=0s${xattrs[name]}\n`).join('')}\n`;
  const run = await host.runner.run('setfattr', ['-h', '--restore=-'], { input: dump });
  if (run.exitCode !== 0) throw new RecoveryError('failure', `${what}: setfattr on ${target} failed: ${firstLine(run.stderr) || `exit code ${run.exitCode}`}`);
}
