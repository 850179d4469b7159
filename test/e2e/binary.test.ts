// The single binary, end to end, as an operator runs it: flags, exit codes, JSON output, the copy
// of itself it leaves in the backup dir, the old script's flags, and a backup killed mid-copy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { currentGeneration, readSummary, resultLine, rsyncDifferences } from '../support/backupChecks.js';
import { BINARY, makeTestNode, runBinary, startBinary, type TestNode } from '../support/sandbox.js';

const packageVersion = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')).version;
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

async function expectExactCopies(node: TestNode, dir = node.backupDir): Promise<void> {
  for (const [name, source] of [['etc', 'etc'], ['local', 'usr/local'], ['kubelet', 'var/lib/kubelet']] as const) {
    expect(await rsyncDifferences(path.join(node.root, source), path.join(dir, name)), `${source} vs ${name}/`).toBe('');
  }
}

describe('the single binary', () => {
  it('prints its version, and help with examples and exit codes', async () => {
    expect((await runBinary(['--version'])).stdout.trim()).toBe(packageVersion);
    const help = await runBinary(['--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/Examples:[\s\S]*--take-backup/);
    expect(help.stdout).toMatch(/Exit codes:[\s\S]*2 bad arguments[\s\S]*3 a check refused/);
    const backupHelp = await runBinary(['backup', '--help']);
    for (const flag of ['--root <dir>', '--dir <dir>', '--force', '--json', '--space-margin']) expect(backupHelp.stdout).toContain(flag);
  });

  it('exits 2 with a message on a wrong flag, and takes no backup', async () => {
    const run = await runBinary(['backup', '--no-such-flag', '--root', '/nonexistent']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("unknown option '--no-such-flag'");
  });

  it('on a terminal, ends after a step that threw: its spinner marked failed, exit 3', async () => {
    // A pty (script) that knows its width, so that the binary draws spinners. The first step of a
    // backup of an empty root refuses; its spinner used to keep the process alive for ever.
    const empty = mkdtempSync(path.join(tmpdir(), 'ur-empty-root-'));
    try {
      const command = `stty cols 100 rows 40; exec ${BINARY} backup --root ${empty}`;
      const run = await execa('script', ['-qec', command, '/dev/null'], { reject: false, timeout: 30_000, env: { TERM: 'xterm' } });
      expect(run.timedOut, 'the binary did not end').toBe(false);
      expect(run.exitCode).toBe(3);
      expect(run.stdout).toContain('✖');
      expect(run.stdout).toContain('this node cannot be backed up as it is');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('exits 3 when there is no backup to verify, saying what to run', async () => {
    const run = await runBinary(['verify', '--dir', '/nonexistent-backup-dir', '--json']);
    expect(run.exitCode).toBe(3);
    expect(resultLine(run.stdout)).toMatchObject({ ok: false, error: { kind: 'precondition', next: 'upgrade-recovery backup' } });
  });
});

describe('backup with the single binary on a sandbox node', () => {
  let node: TestNode;
  // A new tree at every run: the seed changes names, sizes, modes and contents.
  const seed = Date.now() % 1_000_000;

  beforeAll(async () => {
    node = await makeTestNode({ seed, bigFileBytes: 512 * 1024 * 1024 });
  });
  afterAll(() => node?.cleanup());

  it(`backs up exactly (seed ${seed}), reports in JSON and installs itself in the backup dir`, async () => {
    const run = await runBinary(['backup', '--root', node.root, '--json']);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const result = resultLine(run.stdout);
    expect(result).toMatchObject({ ok: true, command: 'backup', resumed: false, dir: node.backupDir });
    const steps = run.events.filter((e) => e.event === 'stepEnd').map((e) => e.step);
    // The three trees are copied together and described in the order their copies end.
    expect(steps.slice(0, 5)).toEqual(['preflight', 'space', 'cluster-health', 'ostree', 'cluster']);
    expect([...steps.slice(5, 8)].sort()).toEqual(['etc', 'kubelet', 'local']);
    expect(steps.slice(8)).toEqual(['exclude-list', 'extras', 'tool', 'seal']);
    await expectExactCopies(node);

    const generation = currentGeneration(node.backupDir);
    expect(sha256(path.join(generation, 'upgrade-recovery'))).toBe(sha256(BINARY));
    expect(readSummary(node.backupDir).files.map((f: { name: string }) => f.name)).toContain('upgrade-recovery');
    const installed = await execa(path.join(node.backupDir, 'upgrade-recovery'), ['--version']);
    expect(installed.stdout.trim()).toBe(packageVersion);
    const shim = await execa(path.join(node.backupDir, 'upgrade-recovery.sh'), ['--version']);
    expect(shim.stdout.trim()).toBe(packageVersion);
    expect((await runBinary(['verify', '--root', node.root, '--data'])).exitCode).toBe(0);
  });

  it('accepts the old script flags: --take-backup --dir', async () => {
    const dir = path.join(node.work, 'old-flags');
    const run = await runBinary(['--take-backup', '--dir', dir, '--root', node.root]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Backup \S+ complete/);
    expect(run.stdout).toContain('Next: ');
    await expectExactCopies(node, dir);
  });

  it('refuses a second backup while one runs; a killed backup leaves the previous one intact and resumes', async () => {
    const previous = currentGeneration(node.backupDir);
    const first = startBinary(['backup', '--root', node.root, '--json']);
    const killedIn = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      let watching = false;
      first.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) {
          const event = JSON.parse(line);
          // The lock is held once the first step starts; the tree copies start soon after.
          if (watching || event.event !== 'stepStart') continue;
          watching = true;
          // A second backup is tried while the first runs; it must be refused on the lock.
          const lockChecked = runBinary(['backup', '--root', node.root, '--json']).then((second) => {
            if (second.exitCode !== 3 || !/another upgrade-recovery \(backup, pid \d+\)/.test(second.stdout)) {
              reject(new Error(`second backup: exit ${second.exitCode}: ${second.stdout}`));
            }
          });
          // Killed while a `cp` into the new generation runs, whatever the speed of the disk: the
          // copies found are held (SIGSTOP) until the lock check is over, then killed with the backup
          // (as a killed Job's pod would be).
          const copying = `^cp -a -v .*${node.backupDir}/generations/`;
          void (async () => {
            for (let i = 0; i < 1000; i++) {
              const found = await execa('pgrep', ['-f', '--', copying], { reject: false });
              if (found.exitCode === 0) {
                const pids = found.stdout.split('\n').filter(Boolean).map(Number);
                const signal = (name: NodeJS.Signals) => pids.forEach((pid) => { try { process.kill(pid, name); } catch { /* already gone */ } });
                signal('SIGSTOP');
                await lockChecked;
                first.kill('SIGKILL');
                signal('SIGKILL');
                resolve('while cp was running');
                return;
              }
              await new Promise((r) => setTimeout(r, 5));
            }
          })();
        }
      });
      void first.then(() => reject(new Error('the backup ended before it could be killed mid-copy')));
    });
    expect(killedIn).toBe('while cp was running');
    expect((await first).signal).toBe('SIGKILL');

    // The previous backup is still the current one, complete and exact.
    expect(currentGeneration(node.backupDir)).toBe(previous);
    const verify = await runBinary(['verify', '--root', node.root, '--data', '--json']);
    expect(verify.exitCode, verify.stdout).toBe(0);
    await expectExactCopies(node);
    const partials = readdirSync(path.join(node.backupDir, 'generations')).filter((n) => n.endsWith('.partial'));
    expect(partials).toHaveLength(1);
    const state = JSON.parse(readFileSync(path.join(node.backupDir, 'generations', partials[0]!, 'state.json'), 'utf8'));
    const finished = Object.keys(state.results);
    // At least one tree was still being copied.
    expect(['etc', 'local', 'kubelet'].every((tree) => finished.includes(tree))).toBe(false);

    // The next run resumes: what was finished is not redone, the rest completes exactly.
    const resumed = await runBinary(['backup', '--root', node.root, '--json']);
    expect(resumed.exitCode, resumed.stdout + resumed.stderr).toBe(0);
    expect(resultLine(resumed.stdout)).toMatchObject({ ok: true, resumed: true });
    const skipped = resumed.events.filter((e) => e.event === 'stepEnd' && e.outcome === 'skipped').map((e) => e.step);
    expect([...skipped].sort()).toEqual([...finished].sort());
    expect(currentGeneration(node.backupDir)).not.toBe(previous);
    expect(existsSync(previous)).toBe(false);
    expect(readdirSync(path.join(node.backupDir, 'generations'))).toHaveLength(1);
    await expectExactCopies(node);
    expect((await runBinary(['verify', '--root', node.root, '--data'])).exitCode).toBe(0);
  });

  it('discards a partial backup with --fresh', async () => {
    const first = startBinary(['backup', '--root', node.root, '--json']);
    await new Promise<void>((resolve) => {
      first.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('"step":"etc"')) {
          first.kill('SIGKILL');
          resolve();
        }
      });
    });
    await first;
    const fresh = await runBinary(['backup', '--root', node.root, '--fresh', '--json']);
    expect(fresh.exitCode, fresh.stdout + fresh.stderr).toBe(0);
    expect(resultLine(fresh.stdout)).toMatchObject({ ok: true, resumed: false });
    expect(fresh.events.some((e) => e.event === 'info' && /Discarding the partial backup/.test(e.message))).toBe(true);
    await expectExactCopies(node);
  });
});
