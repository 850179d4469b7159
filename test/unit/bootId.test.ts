import { describe, expect, it } from 'vitest';
import { readBootId } from '../../src/host/bootId.js';
import { NodeRoot } from '../../src/host/nodeRoot.js';
import { RecordingReporter } from '../../src/core/reporter.js';
import { memHost } from '../support/memHost.js';

describe('readBootId', () => {
  it("reads the node root's boot id", async () => {
    const { host } = memHost({ '/sandbox/proc/sys/kernel/random/boot_id': 'node-boot\n', '/proc/sys/kernel/random/boot_id': 'kernel-boot\n' });
    const reporter = new RecordingReporter();
    expect(await readBootId({ ...host, root: new NodeRoot('/sandbox') }, reporter)).toBe('node-boot');
    expect(reporter.warnings()).toEqual([]);
  });

  it("falls back to this kernel's id, with a warning, when the root has no /proc", async () => {
    const { host } = memHost({ '/sandbox/etc/hostname': 'x', '/proc/sys/kernel/random/boot_id': 'kernel-boot\n' });
    const reporter = new RecordingReporter();
    expect(await readBootId({ ...host, root: new NodeRoot('/sandbox') }, reporter)).toBe('kernel-boot');
    expect(reporter.warnings()[0]).toContain('/sandbox/proc/sys/kernel/random/boot_id is missing');
  });

  it('fails naming the file when there is no boot id at all', async () => {
    const { host } = memHost({ '/etc/hostname': 'x' });
    await expect(readBootId(host, new RecordingReporter())).rejects.toThrow('cannot read the boot id from /proc/sys/kernel/random/boot_id');
  });
});
