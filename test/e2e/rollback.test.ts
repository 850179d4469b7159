// `upgrade-recovery rollback` with the single binary on a real ostree sysroot, rpm-ostree being
// the stand-in: what it says in each case, its JSON, the refusal to act without a terminal or
// --yes, and --apply --yes carrying out undeploy + rpm-ostree rollback -r (then the "reboot").
import { afterEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { resultLine } from '../support/backupChecks.js';
import { runBinary } from '../support/sandbox.js';
import { STANDIN_BIN } from '../support/restoreRun.js';
import { makeSysroot, type TestSysroot } from '../support/ostreeSysroot.js';

const made: TestSysroot[] = [];
afterEach(async () => {
  for (const s of made.splice(0)) await s.cleanup();
});

/** A sysroot whose oldest deployment is pinned (the backup's), with `upgrades` deployed after it. */
async function node(upgrades: number): Promise<TestSysroot> {
  const s = await makeSysroot(['414.92.202311150000-0']);
  made.push(s);
  await s.ostree('admin', 'pin', '0', `--sysroot=${s.root}`);
  for (let i = 1; i <= upgrades; i++) await s.deploy(`415.92.20240${i}010000-0`);
  return s;
}

const calls = (s: TestSysroot) => (existsSync(s.log) ? readFileSync(s.log, 'utf8').trim().split('\n').filter(Boolean) : []);
const rollback = (s: TestSysroot, args: string[] = []) => runBinary(['rollback', '--root', s.root, ...args], { env: s.env });

describe('upgrade-recovery rollback', () => {
  it('says there is nothing to do when the booted deployment is the pinned one', async () => {
    const s = await node(0);
    const run = await rollback(s);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('Deployments (rpm-ostree status):');
    expect(run.stdout).toMatch(/The booted deployment rhcos [0-9a-f]{12}\.0 \(414\.92\.202311150000-0\) is pinned: .*no rollback needed/);
    expect(run.stdout).toMatch(/Next: nothing to roll back/);
    expect(run.stdout).not.toContain('To do');
  });

  it('names rpm-ostree rollback -r when the pinned deployment is the rollback target, changing nothing', async () => {
    const s = await node(1);
    const before = await s.order();
    const run = await rollback(s);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/is not pinned: the node runs the upgraded OS; the pinned rhcos [0-9a-f]{12}\.0 \(414\.92\.202311150000-0\) is the rollback target/);
    expect(run.stdout).toContain(`To do (the last command reboots the node):\n`);
    expect(run.stdout).toContain(`  rpm-ostree rollback -r --sysroot=${s.root}\n`);
    expect(run.stdout).toContain(`Next: upgrade-recovery rollback --apply --root ${s.root} (runs the command above; the node reboots)`);
    expect(await s.order()).toEqual(before);
    expect(calls(s).every((c) => c.startsWith('rpm-ostree status'))).toBe(true);
  });

  it('--json: the plan as the last JSON line', async () => {
    const s = await node(2);
    const [upgraded, middle, pinned] = await s.order();
    const run = await rollback(s, ['--json']);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const result = resultLine(run.stdout);
    expect(result).toMatchObject({
      event: 'result',
      ok: true,
      command: 'rollback',
      source: 'rpm-ostree',
      kind: 'undeploy-then-rollback',
      reboots: true,
      bootedAssumed: false,
      booted: { checksum: upgraded, osname: 'rhcos', serial: 0, version: '415.92.202402010000-0' },
      target: { checksum: pinned!.split(' ')[0] },
      commands: [`ostree admin undeploy 1 --sysroot=${s.root}`, `rpm-ostree rollback -r --sysroot=${s.root}`],
      steps: [{ action: 'undeploy', index: 1, deployment: { checksum: middle } }, { action: 'rollback' }],
      next: `upgrade-recovery rollback --apply --root ${s.root} (runs the commands above; the node reboots)`,
    });
    expect(result.deployments).toHaveLength(3);
    expect(run.events.every((e) => typeof e.time === 'string')).toBe(true);
  });

  it('refuses --apply without a terminal and without --yes (exit 3), changing nothing', async () => {
    const s = await node(2);
    const before = await s.order();
    const run = await rollback(s, ['--apply', '--json']);
    expect(run.exitCode).toBe(3);
    expect(resultLine(run.stdout)).toMatchObject({ ok: false, error: { kind: 'precondition', message: expect.stringContaining('add --yes'), next: `upgrade-recovery rollback --apply --yes --root ${s.root}` } });
    const text = await rollback(s, ['--apply']);
    expect(text.exitCode).toBe(3);
    expect(text.stdout).toContain('without a terminal to confirm on, add --yes; nothing was changed');
    expect(await s.order()).toEqual(before);
    expect(calls(s).every((c) => c.startsWith('rpm-ostree status'))).toBe(true);
  });

  it('--apply --yes undeploys the standby and runs rpm-ostree rollback -r; after the reboot there is nothing to do', async () => {
    const s = await node(2);
    const [upgraded, middle, pinned] = await s.order();
    const run = await rollback(s, ['--apply', '--yes']);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`Ran: ostree admin undeploy 1 --sysroot=${s.root}; rpm-ostree rollback -r --sysroot=${s.root}`);
    expect(run.stdout).toMatch(/The node reboots into rhcos [0-9a-f]{12}\.0 \(414\.92\.202311150000-0\)/);
    expect(run.stdout).toContain(`Next: after the reboot: upgrade-recovery rollback --root ${s.root} (it should say nothing to do), then upgrade-recovery restore`);
    expect(await s.order()).toEqual([pinned, upgraded]);
    expect(existsSync(path.join(s.root, `ostree/deploy/rhcos/deploy/${middle}.0`))).toBe(false);
    expect(calls(s).filter((c) => !c.startsWith('rpm-ostree status'))).toEqual([`rpm-ostree rollback -r --sysroot=${s.root}`]);
    expect(existsSync(path.join(s.state, 'reboot-requested'))).toBe(true);

    await execa(path.join(STANDIN_BIN, 'standin-boot'), { env: s.env });
    const after = await rollback(s, ['--json']);
    expect(after.exitCode).toBe(0);
    expect(resultLine(after.stdout)).toMatchObject({ ok: true, kind: 'none', commands: [], booted: { checksum: pinned!.split(' ')[0] } });
  });

  it('without rpm-ostree reads ostree admin status (nothing booted in a plain sysroot: deployment 0, with a warning)', async () => {
    const s = await node(1);
    const run = await runBinary(['rollback', '--root', s.root, '--json']);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.events.filter((e) => e.event === 'warning').map((e) => e.message)).toEqual([expect.stringContaining('no deployment is marked booted')]);
    expect(resultLine(run.stdout)).toMatchObject({ source: 'ostree', kind: 'rollback', bootedAssumed: true, commands: [`rpm-ostree rollback -r --sysroot=${s.root}`] });
    // Applying it needs rpm-ostree: refused before anything is changed.
    const before = await s.order();
    const apply = await runBinary(['rollback', '--root', s.root, '--apply', '--yes']);
    expect(apply.exitCode).toBe(3);
    expect(apply.stdout).toContain('needs rpm-ostree');
    expect(await s.order()).toEqual(before);
  });

  it('exits 3 when nothing is pinned: nothing can be decided', async () => {
    const s = await node(1);
    await s.ostree('admin', 'pin', '--unpin', '1', `--sysroot=${s.root}`);
    const run = await rollback(s);
    expect(run.exitCode).toBe(3);
    expect(run.stdout).toMatch(/is not pinned and no other rhcos deployment is/);
    expect(run.stdout).toContain('Next: check ostree admin status');
  });

  it('lists its flags in --help', async () => {
    const help = await runBinary(['rollback', '--help']);
    expect(help.exitCode).toBe(0);
    for (const flag of ['--root <dir>', '--apply', '--yes', '--json']) expect(help.stdout).toContain(flag);
  });
});
