// The rpm-ostree stand-in is a test part of its own: the rollback tests prove nothing unless it
// shows the real sysroot as rpm-ostree would (`status --json`, checked with the tool's schema) and
// reorders it the way `rpm-ostree rollback` does, so that ostree itself agrees afterwards.
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseRpmOstreeStatus, rpmOstreeStatusSchema } from '../../src/ostree/status.js';
import { STANDIN_BIN } from '../support/restoreRun.js';
import { sysrootsCleanedAfterEach, type TestSysroot } from '../support/ostreeSysroot.js';

const sysroot = sysrootsCleanedAfterEach();

async function rpmOstree(s: TestSysroot, args: string[], env: Record<string, string | undefined> = {}) {
  const run = await execa(path.join(STANDIN_BIN, 'rpm-ostree'), args, { reject: false, env: { ...s.env, ...env } });
  return { code: run.exitCode ?? -1, stdout: String(run.stdout), stderr: String(run.stderr) };
}

async function status(s: TestSysroot, extra: string[] = []) {
  const run = await rpmOstree(s, ['status', '--json', `--sysroot=${s.root}`, ...extra]);
  expect(run.code, run.stderr).toBe(0);
  expect(rpmOstreeStatusSchema.safeParse(JSON.parse(run.stdout)).success).toBe(true);
  const parsed = parseRpmOstreeStatus(run.stdout);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.deployments;
}

const plain = (lines: string[]) => lines.map((l) => l.split(' ')[0]);

describe('rpm-ostree stand-in', () => {
  it('status --json shows the sysroot\'s deployments in ostree\'s order, the first one booted', async () => {
    const s = await sysroot('414.92.202311150000-0', '415.92.202402010000-0');
    await s.ostree('admin', 'pin', '1', `--sysroot=${s.root}`);
    const deployments = await status(s);
    expect(deployments.map((d) => d.checksum)).toEqual(plain(await s.order()));
    expect(deployments.map((d) => [d.booted, d.pinned, d.version, d.flags])).toEqual([
      [true, false, '415.92.202402010000-0', []],
      [false, true, '414.92.202311150000-0', ['rollback']],
    ]);
    const raw = JSON.parse((await rpmOstree(s, ['status', '--json', `--sysroot=${s.root}`])).stdout);
    expect(raw.deployments[0]).toMatchObject({ id: `rhcos-${deployments[0]!.checksum}.0`, osname: 'rhcos', serial: 0, staged: false, 'base-commit-meta': { version: '415.92.202402010000-0' } });
    expect(raw).toMatchObject({ transaction: null, 'cached-update': null });
    expect((await status(s, ['--booted'])).map((d) => d.checksum)).toEqual([deployments[0]!.checksum]);
    expect(readFileSync(s.log, 'utf8')).toContain(`rpm-ostree status --json --sysroot=${s.root}\n`);
  });

  it('rollback -r puts the rollback target first for ostree too, asks for the reboot, and standin-boot boots it', async () => {
    const s = await sysroot('414.92.202311150000-0', '415.92.202402010000-0');
    const [upgraded, previous] = plain(await s.order());
    const run = await rpmOstree(s, ['rollback', '-r', `--sysroot=${s.root}`]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Moving '${previous}.0' to be first deployment`);
    expect(plain(await s.order())).toEqual([previous, upgraded]);
    expect(existsSync(path.join(s.state, 'reboot-requested'))).toBe(true);
    // Until the reboot, the node still runs what it ran.
    expect((await status(s)).map((d) => [d.checksum, d.booted])).toEqual([[previous, false], [upgraded, true]]);
    await execa(path.join(STANDIN_BIN, 'standin-boot'), { env: s.env });
    expect(existsSync(path.join(s.state, 'reboot-requested'))).toBe(false);
    expect((await status(s)).map((d) => [d.checksum, d.booted, d.flags])).toEqual([[previous, true, []], [upgraded, false, ['rollback']]]);
    // The reordered sysroot is still ostree's: undeploy works on the new order.
    await s.ostree('admin', 'undeploy', '1', `--sysroot=${s.root}`);
    expect(plain(await s.order())).toEqual([previous]);
  });

  it('rollback without -r only reorders; with a pending deployment it puts the booted one first again', async () => {
    const s = await sysroot('414.92.202311150000-0', '415.92.202402010000-0', '415.92.202402200000-0');
    const [a, b, c] = plain(await s.order());
    mkdirSync(path.join(s.state, 'ostree'), { recursive: true });
    writeFileSync(path.join(s.state, 'ostree/booted'), `${b}.0\n`);
    expect((await status(s)).map((d) => d.flags)).toEqual([['pending'], [], ['rollback']]);
    const run = await rpmOstree(s, ['rollback', `--sysroot=${s.root}`]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Run "systemctl reboot" to start a reboot');
    expect(plain(await s.order())).toEqual([b, a, c]);
    expect(existsSync(path.join(s.state, 'reboot-requested'))).toBe(false);
  });

  it('fails like rpm-ostree: nothing to roll back to, an unknown verb or option, no sysroot, no STANDIN_STATE', async () => {
    const s = await sysroot('414.92.202311150000-0');
    const before = await s.order();
    const nothing = await rpmOstree(s, ['rollback', '-r', `--sysroot=${s.root}`]);
    expect(nothing).toMatchObject({ code: 1, stderr: expect.stringContaining('No rollback or pending deployment found') });
    expect(await s.order()).toEqual(before);
    expect(existsSync(path.join(s.state, 'reboot-requested'))).toBe(false);
    expect((await rpmOstree(s, ['upgrade', `--sysroot=${s.root}`])).code).toBe(1);
    expect((await rpmOstree(s, ['status', '--bogus'])).stderr).toContain('Unknown option --bogus');
    expect((await rpmOstree(s, ['status', `--sysroot=${s.root}`])).code).toBe(1);
    expect((await rpmOstree(s, ['status', '--json', `--sysroot=${path.join(s.work, 'nowhere')}`])).stderr).toMatch(/^error: Loading sysroot/);
    const noState = await rpmOstree(s, ['status', '--json'], { STANDIN_STATE: undefined });
    expect(noState).toMatchObject({ code: 1, stderr: expect.stringContaining('STANDIN_STATE is not set') });
  });
});
