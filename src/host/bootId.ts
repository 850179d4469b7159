import type { Host } from './ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError } from '../core/errors.js';

export const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';

/**
 * The kernel's id of this boot, under the node root: it changes at every reboot. A root that has no
 * /proc of its own (a copy of a node's files) runs on this kernel, so this kernel's id is used then,
 * with a warning.
 */
export async function readBootId(host: Host, reporter: Reporter): Promise<string> {
  const file = host.root.path(BOOT_ID_FILE);
  const id = await readId(host, file);
  if (id) return id;
  if (!host.root.isHostRoot) {
    const own = await readId(host, BOOT_ID_FILE);
    if (own) {
      reporter.warn(`${file} is missing; using this kernel's boot id from ${BOOT_ID_FILE}`);
      return own;
    }
  }
  throw new RecoveryError('failure', `cannot read the boot id from ${file}`);
}

async function readId(host: Host, file: string): Promise<string | undefined> {
  try {
    return (await host.fs.readFile(file, 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}
