// Extended attributes (security.selinux, POSIX ACLs as system.posix_acl_*, user.*): Node has no
// xattr API, so we ask getfattr, thousands of files per call. A path made only of plain ASCII is
// passed as it is (with -h, so a symlink's own attributes are read); any other name (not UTF-8,
// control characters, a backslash, which getfattr would print escaped) is opened with
// O_PATH|O_NOFOLLOW and handed over as /proc/self/fd/N, which works for any bytes.
import { firstLine } from '../core/firstLine.js';
import type { HostFs, CommandRunner } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import { bytesWithin, displayPath } from './pathBytes.js';

const O_PATH = 0o10000000;
const O_NOFOLLOW = 0o400000;
/** How many entries the walks gather before one round of getfattr. */
export const XATTR_BATCH = 2048;
/** Bytes of path arguments per call, well under the kernel's limit on argv (2 MiB with env). */
const MAX_ARG_BYTES = 512 * 1024;
/** Names handed over as descriptors per call. */
const MAX_FDS = 128;

export type Xattrs = Record<string, string>;

export async function readXattrs(fs: HostFs, runner: CommandRunner, paths: readonly Buffer[]): Promise<Xattrs[]> {
  const result: Xattrs[] = paths.map(() => ({}));
  const plain: number[] = [];
  const other: number[] = [];
  paths.forEach((p, i) => (isPlainAscii(p) ? plain : other).push(i));
  for (let start = 0; start < plain.length; ) {
    let bytes = 0;
    let end = start;
    while (end < plain.length && (end === start || bytes + paths[plain[end]!]!.length + 1 <= MAX_ARG_BYTES)) bytes += paths[plain[end++]!]!.length + 1;
    await readByPath(runner, paths, plain.slice(start, end), result);
    start = end;
  }
  for (let start = 0; start < other.length; start += MAX_FDS) await readByDescriptor(fs, runner, paths, other.slice(start, start + MAX_FDS), result);
  return result;
}

/** Bytes that getfattr prints as they are in its `# file:` lines. */
function isPlainAscii(path: Buffer): boolean {
  return bytesWithin(path, 0x20, 0x7e, 0x5c);
}

async function readByPath(runner: CommandRunner, paths: readonly Buffer[], indexes: number[], result: Xattrs[]): Promise<void> {
  const args = indexes.map((i) => paths[i]!.toString('latin1'));
  const byName = new Map(args.map((arg, k) => [arg, indexes[k]!]));
  const stdout = await getfattr(runner, ['-h', ...args], [], paths[indexes[0]!]!);
  parseGetfattrDump(stdout, (name) => byName.get(name), result);
}

async function readByDescriptor(fs: HostFs, runner: CommandRunner, paths: readonly Buffer[], indexes: number[], result: Xattrs[]): Promise<void> {
  const fds: number[] = [];
  try {
    for (const i of indexes) fds.push(fs.sync.openSync(paths[i]!, O_PATH | O_NOFOLLOW));
    // No -h here: /proc/self/fd/N must be followed to what was opened (for a symlink, the link itself).
    const stdout = await getfattr(runner, fds.map((_, k) => `/proc/self/fd/${k + 3}`), fds, paths[indexes[0]!]!);
    parseGetfattrDump(stdout, (name) => indexes[Number(/^\/proc\/self\/fd\/(\d+)$/.exec(name)?.[1] ?? NaN) - 3], result);
  } finally {
    for (const fd of fds) fs.sync.closeSync(fd);
  }
}

async function getfattr(runner: CommandRunner, args: string[], extraFds: number[], first: Buffer): Promise<string> {
  const run = await runner.run('getfattr', ['--absolute-names', '-d', '-m', '-', '-e', 'base64', ...args], {
    ...(extraFds.length ? { extraFds } : {}),
    env: { LC_ALL: 'C' },
  });
  if (run.exitCode === 127) {
    throw new RecoveryError('failure', 'getfattr is not available: it is needed to record extended attributes (package attr)');
  }
  if (run.exitCode !== 0) {
    throw new RecoveryError('failure', `getfattr failed near ${displayPath(first)}: ${firstLine(run.stderr)}`);
  }
  return run.stdout;
}

/**
 * Parses `getfattr -d -e base64` output into `result`, finding each `# file:` line's entry with
 * `indexOf` (a file without attributes has no lines at all).
 */
export function parseGetfattrDump(text: string, indexOf: (name: string) => number | undefined, result: Xattrs[]): void {
  let current: Xattrs | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      const index = indexOf(line.slice('# file: '.length));
      current = index === undefined ? undefined : result[index];
      if (!current) throw new RecoveryError('failure', `unexpected getfattr output: ${line}`);
      continue;
    }
    if (line === '' || !current) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new RecoveryError('failure', `unexpected getfattr output: ${line}`);
    current[line.slice(0, eq)] = decodeValue(line.slice(eq + 1));
  }
}

function decodeValue(raw: string): string {
  if (raw.startsWith('0s')) return raw.slice(2);
  if (raw.startsWith('0x')) return Buffer.from(raw.slice(2), 'hex').toString('base64');
  // An empty value prints as "", other quoted text only without -e base64.
  if (raw.startsWith('"') && raw.endsWith('"')) return Buffer.from(raw.slice(1, -1)).toString('base64');
  throw new RecoveryError('failure', `unexpected getfattr value: ${raw}`);
}
