import type { Host } from './ports.js';
import { RecoveryError } from '../core/errors.js';

/** The kernel's id of this boot, under the node root: it changes at every reboot. */
export async function readBootId(host: Host): Promise<string> {
  const file = host.root.path('/proc/sys/kernel/random/boot_id');
  try {
    const id = (await host.fs.readFile(file, 'utf8')).trim();
    if (id) return id;
  } catch {
    // reported below
  }
  throw new RecoveryError('failure', `cannot read the boot id from ${file}`);
}
