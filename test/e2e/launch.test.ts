// `launch`, the single binary as TALM's Job runs it, on a sandbox node root laid out like the Job's
// /host (run/ostree-booted, sysroot/, dev/log). A sandbox has no binaries to chroot into, so the
// node's commands run with --root semantics (--no-chroot: the one replaceable piece; the chroot
// command lines are tested in test/unit/chrootRunner.test.ts); `mount` is the recording stand-in,
// `mknod` is real.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { currentGeneration, jsonLines, rsyncDifferences } from '../support/backupChecks.js';
import { BINARY, killWhen, makeTestNode, runBinary, startBinary, type TestNode } from '../support/sandbox.js';
import { standins, type Standins } from '../support/restoreRun.js';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const lastLine = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);

describe('launch on a sandbox host root', () => {
  let node: TestNode;
  let s: Standins;
  let args: string[];
  const seed = Date.now() % 1_000_000;
  const booted = () => path.join(node.root, 'run/ostree-booted');
  const aside = () => path.join(node.root, 'run/ostree-booted.upgrade-recovery-aside');
  const mountCalls = () => s.calls().filter((c) => c.startsWith('mount '));

  beforeAll(async () => {
    node = await makeTestNode({ seed });
    mkdirSync(path.join(node.root, 'run'), { recursive: true });
    writeFileSync(booted(), '');
    mkdirSync(path.join(node.root, 'sysroot'), { recursive: true });
    mkdirSync(path.join(node.root, 'dev'), { recursive: true });
    writeFileSync(path.join(node.root, 'dev/log'), '');
    chmodSync(node.backupDir, 0o755); // as the kubelet's DirectoryOrCreate makes it
    s = standins(node);
    args = ['launch', '--host-root', node.root, '--no-chroot'];
  });
  afterAll(() => node?.cleanup());

  async function expectExactCopies(): Promise<void> {
    for (const [name, source] of [['etc', 'etc'], ['local', 'usr/local'], ['kubelet', 'var/lib/kubelet']] as const) {
      expect(await rsyncDifferences(path.join(node.root, source), path.join(node.backupDir, name)), source).toBe('');
    }
  }

  it(`takes a backup (seed ${seed}): dir 0700, the tool installed, the host prepared and put back, a last JSON line`, async () => {
    const run = await runBinary(args, { env: s.env });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    // Text output, and still a JSON line last.
    expect(run.stdout).toMatch(/Backup \S+ complete/);
    expect(lastLine(run.stdout)).toMatchObject({ event: 'result', ok: true, command: 'launch', outcome: 'backup-complete', talm: 'Succeeded', exitCode: 0, resumed: false });

    expect(statSync(node.backupDir).mode & 0o777).toBe(0o700);
    expect(sha256(path.join(node.backupDir, 'upgrade-recovery'))).toBe(sha256(BINARY));
    expect((await execa(path.join(node.backupDir, 'upgrade-recovery.sh'), ['--version'])).exitCode).toBe(0);
    expect(lstatSync(path.join(node.root, 'dev/null')).isCharacterDevice()).toBe(true);
    expect(mountCalls()).toEqual([
      `mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs ${node.root}/dev/shm`,
      `mount -o remount,rw ${node.root}/sysroot`,
    ]);
    expect(existsSync(booted())).toBe(true);
    expect(existsSync(aside())).toBe(false);
    await expectExactCopies();
    expect((await runBinary(['verify', '--root', node.root, '--data'])).exitCode).toBe(0);
  });

  it('ends cleanly, changing nothing, while a restore is in progress', async () => {
    const previous = currentGeneration(node.backupDir);
    const before = mountCalls().length;
    writeFileSync(path.join(node.backupDir, 'restore.journal'), '');
    try {
      const run = await runBinary([...args, '--json'], { env: s.env });
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      expect(lastLine(run.stdout)).toMatchObject({ ok: true, outcome: 'restore-in-progress', talm: 'Succeeded', exitCode: 0 });
      expect(lastLine(run.stdout).message).toMatch(/a restore is in progress/);
      expect(mountCalls()).toHaveLength(before);
      expect(currentGeneration(node.backupDir)).toBe(previous);
      expect(existsSync(booted())).toBe(true);
    } finally {
      rmSync(path.join(node.backupDir, 'restore.journal'));
    }
  });

  it('puts /run/ostree-booted back when the backup fails, and keeps the previous backup', async () => {
    const previous = currentGeneration(node.backupDir);
    const script = path.join(node.root, 'usr/local/bin/cluster-backup.sh');
    chmodSync(script, 0o644);
    try {
      const run = await runBinary([...args, '--json'], { env: s.env });
      expect(run.exitCode).toBe(3);
      expect(lastLine(run.stdout)).toMatchObject({ ok: false, outcome: 'refused', talm: 'UnrecoverableError', exitCode: 3, error: { kind: 'precondition' } });
      expect(lastLine(run.stdout).error.message).toMatch(/cluster-backup.sh is not executable/);
      expect(run.events.some((e) => e.event === 'stepEnd' && e.step === 'host' && e.outcome === 'done')).toBe(true);
    } finally {
      chmodSync(script, 0o755);
    }
    expect(existsSync(booted())).toBe(true);
    expect(existsSync(aside())).toBe(false);
    expect(currentGeneration(node.backupDir)).toBe(previous);
  });

  it('on SIGTERM (the deadline) puts /run/ostree-booted back and says BackupTimeout last', async () => {
    const child = startBinary([...args, '--json'], s.env);
    let stdout = '';
    let sent = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // One SIGTERM, as the kubelet sends: a second one ends the process at once, by design.
      if (stdout.includes('"step":"cluster"') && !sent) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    const result = await child;
    expect(result.exitCode, stdout).toBe(143);
    expect(lastLine(stdout)).toMatchObject({ ok: false, outcome: 'interrupted', talm: 'BackupTimeout', exitCode: 143, signal: 'SIGTERM' });
    expect(existsSync(booted())).toBe(true);
    expect(existsSync(aside())).toBe(false);
    expect(existsSync(path.join(node.backupDir, '.upgrade-recovery.lock'))).toBe(false);
  });

  it('on SIGTERM at any step, the result line is still the last one, and no further step starts', async () => {
    const currentOrNone = () => (existsSync(path.join(node.backupDir, 'current')) ? currentGeneration(node.backupDir) : undefined);
    // The backup goes on while the handler puts the host back; a step that starts after the
    // result was written must not print after it.
    let interrupted = 0;
    for (const step of ['cluster', 'local', 'etc', 'kubelet', 'exclude-list', 'extras', 'tool', 'seal']) {
      const before = currentOrNone();
      const child = startBinary([...args, '--json'], s.env);
      let stdout = '';
      let sent = false;
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (!sent && stdout.includes(`"event":"stepStart","step":"${step}"`)) {
          sent = true;
          child.kill('SIGTERM');
        }
      });
      const result = await child;
      // A resumed backup skips the steps its partial already holds.
      if (!sent) continue;
      // The last steps can end before the signal arrives: then the run simply succeeded.
      if (result.exitCode === 0 && lastLine(stdout).talm === 'Succeeded') continue;
      interrupted++;
      expect(result.exitCode, `${step}: ${stdout}`).toBe(143);
      expect(lastLine(stdout), `${step}: ${stdout}`).toMatchObject({ outcome: 'interrupted', talm: 'BackupTimeout' });
      expect(existsSync(booted())).toBe(true);
      expect(existsSync(path.join(node.backupDir, '.upgrade-recovery.lock'))).toBe(false);
      // No step starts after the signal: the backup is not made current behind the result (a seal
      // already under way may still finish).
      if (step !== 'seal') expect(currentOrNone(), `${step}: ${stdout}`).toBe(before);
    }
    expect(interrupted).toBeGreaterThanOrEqual(4);
  });

  it('refuses to back up a degraded cluster (TALM sees UnrecoverableError) unless --force, which marks the backup', async () => {
    const previous = currentGeneration(node.backupDir);
    const refused = await runBinary([...args, '--json'], { env: { ...s.env, STANDIN_CLUSTER: 'degraded' } });
    expect(refused.exitCode).toBe(3);
    expect(lastLine(refused.stdout)).toMatchObject({ ok: false, talm: 'UnrecoverableError' });
    expect(currentGeneration(node.backupDir)).toBe(previous);
    const forced = await runBinary([...args, '--json', '--force'], { env: { ...s.env, STANDIN_CLUSTER: 'degraded' } });
    expect(forced.exitCode, forced.stdout + forced.stderr).toBe(0);
    expect(lastLine(forced.stdout)).toMatchObject({ ok: true, talm: 'Succeeded' });
    const identity = JSON.parse(readFileSync(path.join(node.backupDir, 'current', 'identity.json'), 'utf8'));
    expect(identity.health).toMatchObject({ state: 'degraded', forced: true });
  });

  it('killed half-way (SIGKILL), keeps the previous backup; the next run repairs the host and resumes', async () => {
    const previous = currentGeneration(node.backupDir);
    // Killed as the trees' copies start (they start together once the etcd snapshot is done).
    const killed = await killWhen([...args, '--json'], s.env, (e) => e.event === 'stepEnd' && e.step === 'cluster');
    expect(killed.killedAt).toBeDefined();
    // A killed pod takes its children along; here an orphaned `cp` may still be writing: wait for it.
    for (let i = 0; i < 200; i++) {
      if ((await execa('pgrep', ['-f', '--', `^cp -a -v .*${node.backupDir}/generations/`], { reject: false })).exitCode !== 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // Killed while ostree-booted was aside: nobody could put it back.
    expect(existsSync(booted())).toBe(false);
    expect(existsSync(aside())).toBe(true);
    expect(currentGeneration(node.backupDir)).toBe(previous);
    expect((await runBinary(['verify', '--root', node.root, '--data'])).exitCode).toBe(0);
    const partials = readdirSync(path.join(node.backupDir, 'generations')).filter((n) => n.endsWith('.partial'));
    expect(partials).toHaveLength(1);

    const run = await runBinary([...args, '--json'], { env: s.env });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const events = jsonLines(run.stdout);
    expect(events.some((e) => e.event === 'warning' && /ostree-booted was left aside/.test(e.message))).toBe(true);
    expect(lastLine(run.stdout)).toMatchObject({ ok: true, outcome: 'backup-complete', talm: 'Succeeded', resumed: true });
    const skipped = events.filter((e) => e.event === 'stepEnd' && e.outcome === 'skipped').map((e) => e.step);
    expect(skipped.slice(0, 2)).toEqual(['ostree', 'cluster']);
    expect(skipped.filter((step) => ['etc', 'local', 'kubelet'].includes(step)).length).toBeLessThan(3);
    expect(existsSync(booted())).toBe(true);
    expect(existsSync(aside())).toBe(false);
    expect(existsSync(previous)).toBe(false);
    expect(readdirSync(path.join(node.backupDir, 'generations'))).toHaveLength(1);
    await expectExactCopies();
    const verify = await runBinary(['verify', '--root', node.root, '--data']);
    expect(verify.exitCode, verify.stdout).toBe(0);
  });
});
