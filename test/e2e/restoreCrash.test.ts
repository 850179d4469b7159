// A restore killed with SIGKILL at every step boundary, and at random moments inside the big
// copies, then resumed (and once restarted), ends in the same exact restore: the trees match the
// backup (rsync), etcd holds the backed-up keys, and SELinux is enforcing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import path from 'node:path';
import { RESTORE_PHASES } from '../../src/restore/phases.js';
import { killWhen, makeTestNode, runBinary, type TestNode } from '../support/sandbox.js';
import { expectEtcdRestored, expectTreesRestored, simulateUpgrade } from '../support/upgrade.js';
import { FAST, restoreToTheEnd, standins, type Standins } from '../support/restoreRun.js';

const STEPS = RESTORE_PHASES.flatMap((phase) => phase.steps.map((step) => ({ phase: phase.name, step: step.id })));

describe('a restore killed at any moment', () => {
  let node: TestNode;
  let s: Standins;
  let round = 0;

  beforeAll(async () => {
    node = await makeTestNode({ seed: 41, smallFiles: 400, pods: 4, bigFileBytes: 48 * 1024 * 1024 });
    s = standins(node);
    const backup = await runBinary(['backup', '--root', node.root, '--json'], { env: s.env });
    expect(backup.exitCode, backup.stdout).toBe(0);
  });
  afterAll(() => node?.cleanup());

  /** Upgrade, start a restore, kill it where `when` says, then finish it as an operator would. */
  async function killAndFinish(when: (event: Record<string, any>) => boolean, delayMs: number, finishWith: string[]): Promise<Record<string, any>> {
    round += 1;
    await simulateUpgrade(node, round);
    // The node's big binary changes too, so the copy of /usr/local is long enough to be killed in.
    await execa('dd', ['if=/dev/urandom', `of=${path.join(node.root, 'usr/local/bin/node-tool')}`, 'bs=1M', 'count=2', `seek=${round % 40}`, 'conv=notrunc', 'status=none']);
    const args = ['restore', '--root', node.root, '--json', ...FAST];
    // Up to the point of the kill, the node goes through the phases as it would.
    let killed: Record<string, any> | undefined;
    for (let run = 0; run < 4 && !killed; run++) {
      const attempt = await killWhen(run === 0 ? args : [...args, '--resume'], s.env, when, delayMs);
      killed = attempt.killedAt;
      if (!killed) await s.reboot(node);
    }
    expect(killed, 'the restore reached the kill point').toBeDefined();
    // A command the killed run had started may still log its call: let it finish first.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const leftPermissive = (await s.selinux()) === 'Permissive';
    const before = s.calls().length;
    await restoreToTheEnd(node, s, finishWith);
    if (leftPermissive) expect(s.calls().slice(before).find((c) => c.startsWith('setenforce'))).toBe('setenforce 1');
    await expectTreesRestored(node);
    await expectEtcdRestored(node);
    expect(await s.selinux()).toBe('Enforcing');
    return killed!;
  }

  it.each(STEPS)('killed as $phase/$step starts, resumes to the exact restore', async ({ step }) => {
    const killed = await killAndFinish((e) => e.event === 'stepStart' && e.step === step, 0, ['--resume']);
    expect(killed.step).toBe(step);
  });

  it.each([
    ['restore-local', 40],
    ['restore-local', 250],
    ['restore-kubelet', 30],
    ['restore-etc', 60],
  ])('killed %s ms into %s, resumes to the exact restore', async (step, delay) => {
    await killAndFinish((e) => e.event === 'stepStart' && e.step === step, Number(delay) + Math.floor(Math.random() * 50), ['--resume']);
  });

  it('killed in the middle of the files, restarted from scratch with --restart, ends exact', async () => {
    await killAndFinish((e) => e.event === 'stepStart' && e.step === 'restore-etc', 20, ['--restart']);
    const journals = (await execa('ls', [node.backupDir])).stdout.split('\n').filter((n) => n.startsWith('restore.journal.abandoned-'));
    expect(journals.length).toBeGreaterThanOrEqual(1);
  });
});
