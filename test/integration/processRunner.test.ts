// The real command runner, on real processes: what reaches a command's stdin in each form, what
// comes back, and the cases that must not throw or hang (not found, timed out, input not read,
// a stream that fails half-way).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processRunner } from '../../src/host/processRunner.js';
import { runImporting } from '../support/moduleProcess.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ur-runner-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('processRunner', () => {
  it('returns stdout, stderr and the exit code, and never throws for a non-zero exit', async () => {
    const run = await processRunner.run('sh', ['-c', 'printf "out\\n"; printf "err\\n" >&2; exit 3']);
    expect(run).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  it('gives 127 and the reason for a command that cannot be started', async () => {
    const run = await processRunner.run('upgrade-recovery-no-such-command', []);
    expect(run.exitCode).toBe(127);
    expect(run.stderr).toMatch(/ENOENT/);
  });

  it('writes text and bytes to stdin, and gives a command without input an empty stdin', async () => {
    expect((await processRunner.run('cat', [], { input: 'text\n' })).stdout).toBe('text\n');
    expect((await processRunner.run('od', ['-An', '-tx1'], { input: Uint8Array.from([0, 0xff]) })).stdout.trim()).toBe('00 ff');
    // cat would wait forever on a pipe left open.
    expect(await processRunner.run('cat', [])).toEqual({ exitCode: 0, stdout: '', stderr: '' });
  });

  it('streams sync and async pieces to stdin as they come', async () => {
    expect((await processRunner.run('cat', [], { input: [Buffer.from('a'), Buffer.from('b')] })).stdout).toBe('ab');
    async function* pieces() {
      for (let i = 0; i < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        yield Buffer.from(`${i}`);
      }
    }
    expect((await processRunner.run('cat', [], { input: pieces() })).stdout).toBe('012');
  });

  it('ends stdin when the stream fails, so the command sees its input cut short and the run still returns', async () => {
    async function* failing() {
      yield Buffer.from('first ');
      throw new Error('backup file vanished');
    }
    const run = await processRunner.run('sh', ['-c', 'cat; echo "[eof]"'], { input: failing() });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe('first [eof]\n');
  });

  it('returns the exit code of a command that leaves its input unread', async () => {
    const run = await processRunner.run('sh', ['-c', 'exit 4'], { input: Buffer.alloc(8 * 1024 * 1024) });
    expect(run.exitCode).toBe(4);
    async function* endless() {
      for (;;) yield Buffer.alloc(64 * 1024);
    }
    expect((await processRunner.run('head', ['-c', '1'], { input: endless() })).exitCode).toBe(0);
  });

  it('hands stdout to onStdout instead of keeping it', async () => {
    const chunks: Buffer[] = [];
    const run = await processRunner.run('printf', ['a\\nb\\n'], { onStdout: (chunk) => chunks.push(chunk) });
    expect(Buffer.concat(chunks).toString()).toBe('a\nb\n');
    expect(run.stdout).toBe('');
  });

  it('adds env to the inherited environment and runs in cwd', async () => {
    const run = await processRunner.run('sh', ['-c', 'echo "$UR_RUNNER_TEST $PATH"; pwd'], { env: { UR_RUNNER_TEST: 'set' }, cwd: dir });
    expect(run.stdout).toBe(`set ${process.env.PATH}\n${dir}\n`);
  });

  it('passes extra descriptors as fd 3 onwards', async () => {
    const file = path.join(dir, 'extra');
    writeFileSync(file, 'through fd 3');
    const fd = openSync(file, 'r');
    try {
      expect((await processRunner.run('cat', ['/proc/self/fd/3'], { extraFds: [fd] })).stdout).toBe('through fd 3');
    } finally {
      closeSync(fd);
    }
  });

  it('ends the commands still running when our process exits', async () => {
    // A process of its own, which exits while its command sleeps.
    const run = await runImporting(
      'host/processRunner',
      'processRunner',
      `processRunner.run('sh', ['-c', 'echo $$; exec sleep 30'], { onStdout: (pid) => { process.stdout.write(pid); process.exit(0); } });`,
    );
    const pid = Number(run.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    // Ended: gone, or a zombie that nobody reaps (its parent, our child, exited first).
    const alive = () => {
      try {
        return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && alive(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(alive()).toBe(false);
  });

  it('ends a command that outlives its timeout with SIGTERM', async () => {
    const started = Date.now();
    const run = await processRunner.run('sleep', ['30'], { timeoutMs: 100 });
    expect(run).toMatchObject({ exitCode: 128, signal: 'SIGTERM' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
