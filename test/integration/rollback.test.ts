// The OS-rollback decision and its undeploys on a REAL ostree sysroot (Debian's ostree): what
// the status readers see, what the plan says, and what applying it leaves, checked with ostree's
// own `admin status`. rpm-ostree is the stand-in (fixtures/standins), which works on the same
// sysroot; without it on PATH the tool reads `ostree admin status`.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { realHost } from '../../src/host/real.js';
import { processRunner } from '../../src/host/processRunner.js';
import type { Host } from '../../src/host/ports.js';
import { RecordingReporter } from '../../src/core/reporter.js';
import { RecoveryError } from '../../src/core/errors.js';
import { readDeploymentStatus } from '../../src/ostree/deployments.js';
import { planCommands, planRollback } from '../../src/ostree/rollbackPlan.js';
import { applyRollback } from '../../src/ostree/applyRollback.js';
import { pinBootedDeployment } from '../../src/backup/ostreePin.js';
import { checkPinnedDeployment } from '../../src/restore/preconditions.js';
import { STANDIN_BIN } from '../support/restoreRun.js';
import { sysrootsCleanedAfterEach, type TestSysroot } from '../support/ostreeSysroot.js';

const sysroot = sysrootsCleanedAfterEach();

/** The tool's host on that root; with the stand-ins (rpm-ostree among them) first on PATH or not. */
function host(s: TestSysroot, rpmOstree: boolean): Host {
  const env = rpmOstree ? s.env : {};
  return { ...realHost(s.root), runner: { run: (command, args, options = {}) => processRunner.run(command, args, { ...options, env: { ...env, ...options.env } }) } };
}

const calls = (s: TestSysroot) => (existsSync(s.log) ? readFileSync(s.log, 'utf8').trim().split('\n').filter(Boolean) : []);

describe('rollback decision on a real ostree sysroot', () => {
  it('reads the same deployments through ostree admin status and the rpm-ostree stand-in', async () => {
    const s = await sysroot('414.92.202311150000-0', '415.92.202402010000-0');
    await s.ostree('admin', 'pin', '1', `--sysroot=${s.root}`);
    const reporter = new RecordingReporter();
    const viaOstree = await readDeploymentStatus(host(s, false), reporter);
    const viaRpmOstree = await readDeploymentStatus(host(s, true), reporter);
    expect(reporter.warnings()).toEqual([]);
    expect(viaOstree.source).toBe('ostree');
    expect(viaRpmOstree.source).toBe('rpm-ostree');
    const shape = (d: { checksum: string; pinned: boolean; version?: string }) => [d.checksum, d.pinned, d.version];
    expect(viaRpmOstree.deployments.map(shape)).toEqual(viaOstree.deployments.map(shape));
    expect(viaOstree.deployments.map((d) => d.version)).toEqual(['415.92.202402010000-0', '414.92.202311150000-0']);
    // ostree shows nothing booted in a plain dir; the stand-in says the first one runs.
    expect(viaOstree.deployments.some((d) => d.booted)).toBe(false);
    expect(viaRpmOstree.deployments.map((d) => [d.booted, d.flags])).toEqual([[true, []], [false, ['rollback']]]);
    for (const status of [viaOstree, viaRpmOstree]) {
      expect(planCommands(planRollback(status.deployments))).toEqual(['rpm-ostree rollback -r']);
    }
  });

  it('nothing pinned: refuses to guess; the backup\'s undeploy and pin then make it "nothing to do"', async () => {
    const s = await sysroot('414.92.202311150000-0', '415.92.202402010000-0', '415.92.202402200000-0');
    const h = host(s, true);
    const reporter = new RecordingReporter();
    expect(planRollback((await readDeploymentStatus(h, reporter)).deployments).kind).toBe('blocked');
    const newest = (await s.order())[0]!;
    const pinned = await pinBootedDeployment(h, reporter);
    expect(pinned).toMatchObject({ checksum: newest, removed: 2 });
    expect(await s.order()).toEqual([`${newest} p`]);
    const plan = planRollback((await readDeploymentStatus(h, reporter)).deployments);
    expect(plan).toMatchObject({ kind: 'none', steps: [] });
  });

  it('applies "undeploy the standby, then rpm-ostree rollback -r", and the pinned deployment boots after the reboot', async () => {
    const s = await sysroot('414.92.202311150000-0');
    await s.ostree('admin', 'pin', '0', `--sysroot=${s.root}`);
    const middle = await s.deploy('415.92.202402010000-0');
    const upgraded = await s.deploy('415.92.202402200000-0');
    const [, , pinned] = await s.order();
    expect(pinned).toMatch(/ p$/);
    const h = host(s, true);
    const reporter = new RecordingReporter();
    const status = await readDeploymentStatus(h, reporter);
    const plan = planRollback(status.deployments);
    expect(plan.kind).toBe('undeploy-then-rollback');
    expect(planCommands(plan, h.root.ostreeSysrootArgs())).toEqual([`ostree admin undeploy 1 --sysroot=${s.root}`, `rpm-ostree rollback -r --sysroot=${s.root}`]);

    const applied = await applyRollback(h, reporter, status);
    expect(applied).toMatchObject({ rebooting: true, ran: [`ostree admin undeploy 1 --sysroot=${s.root}`, `rpm-ostree rollback -r --sysroot=${s.root}`] });
    // ostree itself: the middle deployment is gone and its directory with it; the pinned one is first.
    expect(await s.order()).toEqual([pinned, upgraded]);
    expect(existsSync(path.join(s.root, `ostree/deploy/rhcos/deploy/${middle}.0`))).toBe(false);
    expect(calls(s).filter((c) => !c.startsWith('rpm-ostree status'))).toEqual([`rpm-ostree rollback -r --sysroot=${s.root}`]);
    expect(existsSync(path.join(s.state, 'reboot-requested'))).toBe(true);

    // Before the reboot, the pinned deployment is next: the plan says reboot, not roll back again.
    expect(planCommands(planRollback((await readDeploymentStatus(h, reporter)).deployments))).toEqual(['systemctl reboot']);
    await execa(path.join(STANDIN_BIN, 'standin-boot'), { env: s.env });
    const after = await readDeploymentStatus(h, reporter);
    expect(after.deployments.map((d) => [d.booted, d.pinned])).toEqual([[true, true], [false, false]]);
    expect(planRollback(after.deployments).kind).toBe('none');
    await expect(checkPinnedDeployment(h, reporter, false)).resolves.toBeUndefined();
  });

  it('booted pinned with a pending deployment ahead: undeploy 0 for real, no reboot', async () => {
    const s = await sysroot('414.92.202311150000-0');
    await s.ostree('admin', 'pin', '0', `--sysroot=${s.root}`);
    const [pinned] = await s.order();
    await s.deploy('415.92.202402010000-0');
    // The node still runs the pinned deployment: tell the stand-in so.
    mkdirSync(path.join(s.state, 'ostree'), { recursive: true });
    writeFileSync(path.join(s.state, 'ostree/booted'), `${pinned!.split(' ')[0]}.0\n`);
    const h = host(s, true);
    const reporter = new RecordingReporter();
    const status = await readDeploymentStatus(h, reporter);
    expect(status.deployments.map((d) => d.flags)).toEqual([['pending'], []]);
    await expect(checkPinnedDeployment(h, reporter, false)).rejects.toMatchObject({
      kind: 'precondition',
      next: expect.stringMatching(new RegExp(`^ostree admin undeploy 0 --sysroot=${s.root}, then run the restore again; or: upgrade-recovery rollback --apply --root ${s.root}$`)),
    });
    const applied = await applyRollback(h, reporter, status);
    expect(applied).toMatchObject({ rebooting: false, ran: [`ostree admin undeploy 0 --sysroot=${s.root}`], plan: { kind: 'none' } });
    expect(await s.order()).toEqual([pinned]);
    expect(existsSync(path.join(s.state, 'reboot-requested'))).toBe(false);
  });

  it('restore\'s check names the exact commands, with the real index', async () => {
    const s = await sysroot('414.92.202311150000-0');
    await s.ostree('admin', 'pin', '0', `--sysroot=${s.root}`);
    await s.deploy('415.92.202402010000-0');
    await s.deploy('415.92.202402200000-0');
    for (const rpmOstree of [true, false]) {
      const reporter = new RecordingReporter();
      const refusal = await checkPinnedDeployment(host(s, rpmOstree), reporter, false).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(RecoveryError);
      expect((refusal as RecoveryError).message).toMatch(/not pinned.*roll the OS back to the pinned deployment before restoring/);
      expect((refusal as RecoveryError).next).toBe(
        `ostree admin undeploy 1 --sysroot=${s.root}, then rpm-ostree rollback -r --sysroot=${s.root} (the node reboots), then run the restore again; or: upgrade-recovery rollback --apply --root ${s.root}`,
      );
      // --force: a warning, and the restore goes on.
      const forced = new RecordingReporter();
      await checkPinnedDeployment(host(s, rpmOstree), forced, true);
      expect(forced.warnings().at(-1)).toMatch(/going on because of --force/);
    }
  });

  it('without rpm-ostree, refuses to apply a plan that needs it, changing nothing', async () => {
    const s = await sysroot('414.92.202311150000-0');
    await s.ostree('admin', 'pin', '0', `--sysroot=${s.root}`);
    await s.deploy('415.92.202402010000-0');
    await s.deploy('415.92.202402200000-0');
    const before = await s.order();
    const h = host(s, false);
    const reporter = new RecordingReporter();
    await expect(applyRollback(h, reporter, await readDeploymentStatus(h, reporter))).rejects.toMatchObject({ kind: 'precondition', message: expect.stringContaining('needs rpm-ostree') });
    expect(await s.order()).toEqual(before);
  });
});
