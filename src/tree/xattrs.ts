// Extended attributes (security.selinux, POSIX ACLs as system.posix_acl_*, user.*): Node has no
// xattr API, so we ask getfattr, many files per call. Each file is opened with O_PATH|O_NOFOLLOW
// and handed to getfattr as /proc/self/fd/N: that works for any name bytes (arguments to a child
// process must be UTF-8 strings) and, for a symlink, reads the link's own attributes.
import type { HostFs, CommandRunner } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import { displayPath } from './pathBytes.js';

const O_PATH = 0o10000000;
const O_NOFOLLOW = 0o400000;
/** How many files one getfattr call covers: bounded by open descriptors, not by argv size. */
export const XATTR_BATCH = 256;

export type Xattrs = Record<string, string>;

export async function readXattrs(fs: HostFs, runner: CommandRunner, paths: readonly Buffer[]): Promise<Xattrs[]> {
  const result: Xattrs[] = paths.map(() => ({}));
  for (let start = 0; start < paths.length; start += XATTR_BATCH) {
    const batch = paths.slice(start, start + XATTR_BATCH);
    const found = await readBatch(fs, runner, batch);
    found.forEach((xattrs, i) => (result[start + i] = xattrs));
  }
  return result;
}

async function readBatch(fs: HostFs, runner: CommandRunner, paths: readonly Buffer[]): Promise<Xattrs[]> {
  const handles = [];
  try {
    for (const path of paths) handles.push(await fs.open(path, O_PATH | O_NOFOLLOW));
    const args = handles.map((_, i) => `/proc/self/fd/${i + 3}`);
    const run = await runner.run('getfattr', ['--absolute-names', '-d', '-m', '-', '-e', 'base64', ...args], {
      extraFds: handles.map((h) => h.fd),
    });
    if (run.exitCode === 127) {
      throw new RecoveryError('failure', 'getfattr is not available: it is needed to record extended attributes (package attr)');
    }
    if (run.exitCode !== 0) {
      const first = paths[0] ? displayPath(paths[0]) : '';
      throw new RecoveryError('failure', `getfattr failed near ${first}: ${run.stderr.trim().split('\n')[0] ?? ''}`);
    }
    return parseGetfattrDump(run.stdout, paths.length);
  } finally {
    await Promise.all(handles.map((h) => h.close()));
  }
}

/** Parses `getfattr -d -e base64` output whose file names are /proc/self/fd/<3+index>. */
export function parseGetfattrDump(text: string, count: number): Xattrs[] {
  const result: Xattrs[] = Array.from({ length: count }, () => ({}));
  let current: Xattrs | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      const match = /\/proc\/self\/fd\/(\d+)$/.exec(line);
      const index = match ? Number(match[1]) - 3 : -1;
      current = result[index];
      if (!current) throw new RecoveryError('failure', `unexpected getfattr output: ${line}`);
      continue;
    }
    if (line === '' || !current) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new RecoveryError('failure', `unexpected getfattr output: ${line}`);
    current[line.slice(0, eq)] = decodeValue(line.slice(eq + 1));
  }
  return result;
}

function decodeValue(raw: string): string {
  if (raw.startsWith('0s')) return raw.slice(2);
  if (raw.startsWith('0x')) return Buffer.from(raw.slice(2), 'hex').toString('base64');
  // An empty value prints as "", other quoted text only without -e base64.
  if (raw.startsWith('"') && raw.endsWith('"')) return Buffer.from(raw.slice(1, -1)).toString('base64');
  throw new RecoveryError('failure', `unexpected getfattr value: ${raw}`);
}
