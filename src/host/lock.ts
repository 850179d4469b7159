// One instance at a time per backup dir. The lock file names its holder (pid and boot id); a lock
// whose holder is dead, or was taken before the last reboot, is stale and taken over, so a crash
// never blocks the next run forever.
import { z } from 'zod';
import type { Host } from './ports.js';
import { RecoveryError } from '../core/errors.js';

const lockSchema = z.object({ pid: z.number().int(), bootId: z.string(), command: z.string(), since: z.string() });
export type LockHolder = z.infer<typeof lockSchema>;

export interface HeldLock {
  release(): Promise<void>;
}

export async function acquireLock(host: Host, file: string, command: string, bootId: string): Promise<HeldLock> {
  const mine: LockHolder = { pid: host.processes.ownPid, bootId, command, since: host.clock.now().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await host.fs.open(file, 'wx', 0o600);
      await handle.writeFile(JSON.stringify(mine));
      await handle.sync();
      await handle.close();
      return { release: () => releaseIfMine(host, file, mine) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readHolder(host, file);
    if (holder && holder.bootId === bootId && host.processes.isAlive(holder.pid) && holder.pid !== mine.pid) {
      throw new RecoveryError(
        'precondition',
        `another upgrade-recovery (${holder.command}, pid ${holder.pid}) has been running since ${holder.since}`,
        `wait for it to finish, or stop pid ${holder.pid}`,
      );
    }
    // Stale (dead holder, earlier boot, unreadable): remove it and try again; 'wx' above makes
    // sure only one of two racing takers wins.
    await host.fs.rm(file, { force: true });
  }
  throw new RecoveryError('precondition', `cannot take the lock ${file}`);
}

async function readHolder(host: Host, file: string): Promise<LockHolder | undefined> {
  try {
    const parsed = lockSchema.safeParse(JSON.parse(await host.fs.readFile(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

async function releaseIfMine(host: Host, file: string, mine: LockHolder): Promise<void> {
  const holder = await readHolder(host, file);
  if (holder && holder.pid === mine.pid && holder.since === mine.since) await host.fs.rm(file, { force: true });
}
