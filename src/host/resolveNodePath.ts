// A node path with its symlinks followed the way the node itself would follow them, but inside the
// node root: on RHCOS /usr/local is a symlink to ../var/usrlocal, and under --root (or the Job's
// /host) an absolute link must land inside that root, never on the machine running the tool.
import path from 'node:path';
import type { Host } from './ports.js';
import { RecoveryError } from '../core/errors.js';

const MAX_LINKS = 40;

/** Returns where `nodePath` really is, as this process sees it (host.root.path of the resolved path). */
export async function resolveNodePath(host: Host, nodePath: string): Promise<string> {
  let pending = nodePath.split('/').filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '.') continue;
    if (name === '..') {
      resolved.pop();
      continue;
    }
    const candidate = `/${[...resolved, name].join('/')}`;
    const stat = await host.fs.lstat(host.root.path(candidate)).catch(() => undefined);
    if (!stat?.isSymbolicLink()) {
      // Missing or not a link: keep the name; whoever uses the path reports a missing one.
      resolved.push(name);
      continue;
    }
    if (++links > MAX_LINKS) throw new RecoveryError('failure', `too many symbolic links resolving ${nodePath} under ${host.root.dir}`);
    const target = await host.fs.readlink(host.root.path(candidate));
    const parts = target.split('/').filter(Boolean);
    if (path.isAbsolute(target)) resolved.length = 0;
    pending = [...parts, ...pending];
  }
  return host.root.path(`/${resolved.join('/')}`);
}
