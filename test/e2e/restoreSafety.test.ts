// Bad input gets a clear error and loses nothing: a damaged journal, a damaged or incomplete
// backup, a restore already under way, the old script's progress file and flags, a dry run, a
// signal in the middle, and what `status` says at each point.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { appendFileSync, existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTestNode, runBinary, startBinary, type TestNode } from '../support/sandbox.js';
import { currentGeneration, resultLine, rsyncDifferences } from '../support/backupChecks.js';
import { expectEtcdRestored, expectTreesRestored, simulateUpgrade } from '../support/upgrade.js';
import { FAST, restore, restoreToTheEnd, standins, type Standins } from '../support/restoreRun.js';

describe('restore refuses or stops cleanly', () => {
  let node: TestNode;
  let s: Standins;
  let round = 100;
  const journal = () => path.join(node.backupDir, 'restore.journal');
  const destructiveCalls = () => s.calls().filter((c) => /^(setenforce|systemctl stop|crio|crictl rmp)/.test(c));

  beforeAll(async () => {
    node = await makeTestNode({ seed: 51, smallFiles: 300, pods: 3, bigFileBytes: 2 * 1024 * 1024 });
    s = standins(node);
    const backup = await runBinary(['backup', '--root', node.root, '--json'], { env: s.env });
    expect(backup.exitCode, backup.stdout).toBe(0);
  });
  afterAll(() => node?.cleanup());
  beforeEach(async () => {
    round += 1;
    await simulateUpgrade(node, round);
  });

  it('--dry-run lists what would change and runs nothing', async () => {
    const before = s.calls().length;
    const run = await restore(node, s, ['--dry-run']);
    expect(run.exitCode, run.stdout).toBe(0);
    const result = resultLine(run.stdout);
    expect(result.kind).toBe('dry-run');
    const text = result.lines.join('\n');
    expect(text).toMatch(/restore-etc[\s\S]*hostname/);
    expect(text).toContain('would run: crio wipe -f');
    expect(s.calls().slice(before).filter((c) => !c.startsWith('oc ') && !c.startsWith('rpm-ostree status '))).toEqual([]);
    expect(existsSync(journal())).toBe(false);
    await restoreToTheEnd(node, s, []);
  });

  it('refuses a second restore while one is under way, naming --resume and --restart; status says what to do', async () => {
    const files = await restore(node, s);
    expect(resultLine(files.stdout).kind).toBe('reboot-required');
    const again = await restore(node, s);
    expect(again.exitCode).toBe(3);
    expect(resultLine(again.stdout).error.next).toMatch(/--resume.*--restart/);
    const status = await runBinary(['status', '--root', node.root]);
    expect(status.stdout).toContain('must reboot');
    expect(status.stdout).toContain('Next: systemctl reboot, then: upgrade-recovery restore --resume');
    await s.reboot(node);
    const rebooted = await runBinary(['status', '--root', node.root]);
    expect(rebooted.stdout).toContain('Next: upgrade-recovery restore --resume');
    await restoreToTheEnd(node, s, ['--resume']);
    const after = await runBinary(['status', '--root', node.root, '--json']);
    expect(resultLine(after.stdout)).toMatchObject({ backup: { verified: { ok: true } } });
    expect(resultLine(after.stdout).restore).toBeUndefined();
  });

  it('stops on a damaged journal before doing anything, and never takes it for "not started"', async () => {
    expect((await restore(node, s)).exitCode).toBe(0);
    await s.reboot(node);
    const original = readFileSync(journal(), 'utf8');
    const lines = original.split('\n');
    lines.splice(3, 1, '{"kind":"stepEnd","phase":"files"');
    writeFileSync(journal(), lines.join('\n'));
    const before = s.calls().length;
    for (const args of [['--resume'], []]) {
      const run = await restore(node, s, args);
      expect(run.exitCode).toBe(3);
      expect(resultLine(run.stdout).error.message).toMatch(/restore journal .* is damaged \(line 4 is not JSON\)/);
    }
    expect(s.calls().slice(before)).toEqual([]);
    // A line cut short by a crash at the very end is the one damage tolerated: its step is redone.
    writeFileSync(journal(), `${original}{"kind":"stepSta`);
    const runs = await restoreToTheEnd(node, s, ['--resume']);
    expect(runs[0]!.events.some((e) => e.event === 'warning' && /cut short/.test(e.message))).toBe(true);
    await expectTreesRestored(node);
  });

  it('refuses a damaged backup before the first destructive step with --verify-data, and before replacing the file without it', async () => {
    const generation = currentGeneration(node.backupDir);
    const copy = path.join(generation, 'etc/hostname');
    const saved = path.join(node.work, 'hostname.saved');
    await execa('cp', ['-a', copy, saved]);
    const bad = readFileSync(copy);
    bad[0] = bad[0]! ^ 0x20;
    writeFileSync(copy, bad);
    // Same size and mtime: only reading the bytes can tell (bit rot on the recovery partition).
    await execa('touch', ['-h', '-r', saved, copy]);
    const liveBefore = readFileSync(path.join(node.root, 'etc/hostname'), 'utf8');
    try {
      const before = destructiveCalls().length;
      const checked = await restore(node, s, ['--verify-data']);
      expect(checked.exitCode, checked.stdout).toBe(3);
      expect(resultLine(checked.stdout).error.message).toContain('etc/hostname: content differs');
      expect(destructiveCalls().length).toBe(before);
      expect(existsSync(journal())).toBe(false);

      const unchecked = await restore(node, s);
      expect(unchecked.exitCode, unchecked.stdout).toBe(4);
      expect(resultLine(unchecked.stdout).error.message).toMatch(/hostname/);
      expect(readFileSync(path.join(node.root, 'etc/hostname'), 'utf8')).toBe(liveBefore);
      expect(await s.selinux()).toBe('Enforcing');
    } finally {
      await execa('cp', ['-a', saved, copy]);
    }
    await execa('rm', ['-f', path.join(generation, 'verify.json')]);
  });

  it('takes over a restore the old script began, from its progress file, with the old flags', async () => {
    // The old script's files stage: done by ours, then its record replaced by the old progress file.
    expect(existsSync(journal())).toBe(true); // left by the damaged-backup test: start over
    const restart = await restore(node, s, ['--restart']);
    expect(resultLine(restart.stdout).kind, restart.stdout).toBe('reboot-required');
    renameSync(journal(), `${journal()}.hidden`);
    writeFileSync(path.join(node.backupDir, 'progress'), 'started\nrestore_files\n');
    const status = await runBinary(['status', '--root', node.root]);
    expect(status.stdout).toContain('begun by the old script');
    await s.reboot(node);
    const run = await runBinary(['--resume', '--root', node.root, '--json', ...FAST], { env: s.env });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(resultLine(run.stdout).kind).toBe('complete');
    expect(run.events.some((e) => e.event === 'info' && /old script began/.test(e.message))).toBe(true);
    expect(existsSync(path.join(node.backupDir, 'progress.imported'))).toBe(true);
    await expectTreesRestored(node);
    await expectEtcdRestored(node);
  });

  it('refuses a backup with a missing tree before touching anything', async () => {
    const kubelet = path.join(currentGeneration(node.backupDir), 'kubelet');
    renameSync(kubelet, `${kubelet}.away`);
    try {
      const before = destructiveCalls().length;
      const run = await restore(node, s);
      expect(run.exitCode).toBe(3);
      expect(resultLine(run.stdout).error.message).toMatch(/damaged.*kubelet/);
      expect(destructiveCalls().length).toBe(before);
    } finally {
      renameSync(`${kubelet}.away`, kubelet);
    }
  });

  it('on SIGTERM puts SELinux back to enforcing, records it, and resumes exactly', async () => {
    const child = startBinary(['restore', '--root', node.root, '--json', ...FAST], s.env);
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('"step":"restore-local"')) {
          child.kill('SIGTERM');
          resolve();
        }
      });
    });
    const result = await child;
    expect(result.exitCode).toBe(143);
    expect(await s.selinux()).toBe('Enforcing');
    expect(readFileSync(journal(), 'utf8')).toContain('"kind":"interrupted","at"');
    await restoreToTheEnd(node, s, ['--resume']);
    await expectTreesRestored(node);
  });

  it('refuses --resume when nothing is under way, and a wrong flag', async () => {
    const none = await restore(node, s, ['--dir', path.join(node.work, 'empty-backup-dir')]);
    expect(none.exitCode).toBe(3);
    await restoreToTheEnd(node, s, []);
    const resume = await restore(node, s, ['--resume']);
    expect(resume.exitCode).toBe(3);
    expect(resultLine(resume.stdout).error.next).toBe('upgrade-recovery restore');
    const wrong = await runBinary(['restore', '--resum']);
    expect(wrong.exitCode).toBe(2);
    expect(readdirSync(node.backupDir).filter((n) => n === 'restore.journal')).toEqual([]);
    expect(await rsyncDifferences(path.join(node.backupDir, 'local'), path.join(node.root, 'usr/local'))).toBe('');
  });
});
