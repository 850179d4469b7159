import { describe, expect, it } from 'vitest';
import { acquireLock } from '../../src/host/lock.js';
import { memHost } from '../support/memHost.js';

const LOCK = '/var/recovery/.upgrade-recovery.lock';

describe('acquireLock', () => {
  it('refuses while a live holder of this boot has it, naming the holder', async () => {
    const { host } = memHost({ '/var/recovery/.keep': '' }, { pid: 10, alive: () => true });
    await acquireLock(host, LOCK, 'backup', 'boot-1');
    const other = memHost({}, { pid: 11, alive: () => true });
    const second = { ...other.host, fs: host.fs };
    await expect(acquireLock(second, LOCK, 'backup', 'boot-1')).rejects.toMatchObject({
      kind: 'precondition',
      message: expect.stringContaining('pid 10'),
    });
  });

  it('takes over the lock of a dead holder (a crash never blocks forever)', async () => {
    const { host } = memHost({ [LOCK]: JSON.stringify({ pid: 10, bootId: 'boot-1', command: 'backup', since: 'x' }) }, { pid: 11, alive: () => false });
    const lock = await acquireLock(host, LOCK, 'backup', 'boot-1');
    expect(JSON.parse(String(await host.fs.readFile(LOCK, 'utf8'))).pid).toBe(11);
    await lock.release();
    await expect(host.fs.readFile(LOCK)).rejects.toThrow();
  });

  it('takes over a lock from before the last reboot, even if its pid is in use again', async () => {
    const { host } = memHost({ [LOCK]: JSON.stringify({ pid: 10, bootId: 'boot-0', command: 'backup', since: 'x' }) }, { pid: 11, alive: () => true });
    await acquireLock(host, LOCK, 'backup', 'boot-1');
  });

  it('takes over a damaged lock file', async () => {
    const { host } = memHost({ [LOCK]: 'garbage' }, { pid: 11, alive: () => true });
    await acquireLock(host, LOCK, 'backup', 'boot-1');
  });
});
