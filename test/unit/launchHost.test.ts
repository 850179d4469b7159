// What launch does to the node root before the backup, on a temp dir shaped like the Job's /host
// (an empty dir with the node's paths in it), with `mount` and `mknod` recorded instead of run;
// and the cases where launch stops before touching anything.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandResult, CommandRunner, Host } from '../../src/host/ports.js';
import { realHost } from '../../src/host/real.js';
import { RecordingReporter } from '../../src/core/reporter.js';
import { RecoveryError } from '../../src/core/errors.js';
import { OSTREE_BOOTED_ASIDE, prepareHost, repairOstreeBooted } from '../../src/launch/hostSetup.js';
import { LaunchSession, talmOutcome } from '../../src/launch/runLaunch.js';

let root: string;
let lines: string[];
let fail: (line: string) => Partial<CommandResult> | undefined;

function host(overrides: Partial<Host> = {}): Host {
  const runner: CommandRunner = {
    async run(command, args) {
      const line = [command, ...args].join(' ');
      lines.push(line);
      return { exitCode: 0, stdout: '', stderr: '', ...fail(line) };
    },
  };
  return { ...realHost(root), runner, ...overrides };
}
const at = (p: string) => path.join(root, p);

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'ur-launch-host-'));
  lines = [];
  fail = () => undefined;
  // The Job's /host: mounts for dev/log, run, sysroot, usr/bin, usr/lib64; nothing else.
  for (const dir of ['dev', 'run', 'sysroot/ostree', 'usr/bin', 'usr/lib64', 'proc/sys/kernel/random']) mkdirSync(at(dir), { recursive: true });
  writeFileSync(at('dev/log'), '');
  writeFileSync(at('run/ostree-booted'), '');
  writeFileSync(at('proc/sys/kernel/random/boot_id'), 'boot-1\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('prepareHost', () => {
  it('makes /dev/null, a tmpfs /dev/shm, a writable /sysroot, the /usr links, and moves /run/ostree-booted aside until undo', async () => {
    const reporter = new RecordingReporter();
    const prepared = await prepareHost(host(), reporter);
    expect(lines).toEqual([
      `mknod -m 0666 ${root}/dev/null c 1 3`,
      `mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs ${root}/dev/shm`,
      `mount -o remount,rw ${root}/sysroot`,
    ]);
    expect(statSync(at('dev/shm')).isDirectory()).toBe(true);
    expect(readlinkSync(at('bin'))).toBe('usr/bin');
    expect(readlinkSync(at('lib64'))).toBe('usr/lib64');
    expect(existsSync(at('sbin')) || existsSync(at('lib'))).toBe(false); // no /usr/sbin, /usr/lib mounted here
    expect(readlinkSync(at('ostree'))).toBe('sysroot/ostree');
    expect(existsSync(at('run/ostree-booted'))).toBe(false);
    expect(existsSync(at(OSTREE_BOOTED_ASIDE))).toBe(true);

    await prepared.undo();
    await prepared.undo();
    expect(existsSync(at('run/ostree-booted'))).toBe(true);
    expect(existsSync(at(OSTREE_BOOTED_ASIDE))).toBe(false);
  });

  it('leaves a real /dev/null and a mounted /dev/shm alone, and replaces a plain file at /dev/null', async () => {
    await execa('mknod', ['-m', '0666', at('dev/null'), 'c', '1', '3']);
    mkdirSync(at('dev/shm'));
    // /dev/shm on another device than /dev: a mount point.
    const base = host();
    const stat = (async (p: string, ...rest: unknown[]) => {
      const s = await (base.fs.stat as (...a: unknown[]) => Promise<import('node:fs').Stats>)(p, ...rest);
      return p === at('dev/shm') ? Object.assign(Object.create(Object.getPrototypeOf(s)), s, { dev: s.dev + 1 }) : s;
    }) as Host['fs']['stat'];
    await prepareHost({ ...base, fs: { ...base.fs, stat } }, new RecordingReporter());
    expect(lines).toEqual([`mount -o remount,rw ${root}/sysroot`]);

    lines = [];
    rmSync(at('dev/null'));
    writeFileSync(at('dev/null'), 'junk written before the device existed');
    await prepareHost(host(), new RecordingReporter());
    expect(lines[0]).toBe(`mknod -m 0666 ${root}/dev/null c 1 3`);
    expect(existsSync(at('dev/null'))).toBe(false); // removed; the (recorded) mknod makes the device
  });

  it('stops with a clear failure when the sysroot cannot be made writable, leaving /run/ostree-booted in place', async () => {
    fail = (line) => (line.startsWith('mount -o remount') ? { exitCode: 32, stderr: 'mount: permission denied\n' } : undefined);
    const error = await prepareHost(host(), new RecordingReporter()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecoveryError);
    expect((error as Error).message).toMatch(/cannot remount .*\/sysroot read-write .*permission denied/);
    expect(existsSync(at('run/ostree-booted'))).toBe(true);
  });

  it('a root without /sysroot (a sandbox, itself the sysroot) is not remounted', async () => {
    rmSync(at('sysroot'), { recursive: true });
    const reporter = new RecordingReporter();
    await prepareHost(host(), reporter);
    expect(lines.some((l) => l.includes('remount'))).toBe(false);
    expect(existsSync(at('ostree'))).toBe(false);
  });
});

describe('repairOstreeBooted (after a run was SIGKILLed)', () => {
  it('puts a leftover back, or drops it when the node has made a new marker', async () => {
    const reporter = new RecordingReporter();
    rmSync(at('run/ostree-booted'));
    writeFileSync(at(OSTREE_BOOTED_ASIDE), 'left');
    await repairOstreeBooted(host(), reporter);
    expect(readFileSync(at('run/ostree-booted'), 'utf8')).toBe('left');
    expect(reporter.warnings()).toEqual(['/run/ostree-booted was left aside by an interrupted run; put back']);

    writeFileSync(at(OSTREE_BOOTED_ASIDE), 'older');
    await repairOstreeBooted(host(), reporter);
    expect(readFileSync(at('run/ostree-booted'), 'utf8')).toBe('left');
    expect(existsSync(at(OSTREE_BOOTED_ASIDE))).toBe(false);
  });
});

describe('LaunchSession before the backup', () => {
  const options = { spaceMargin: 0, toolVersion: '0.0.0-test' };

  it('ends cleanly, touching nothing, when a restore is under way (ours or the old script\'s)', async () => {
    for (const file of ['restore.journal', 'progress']) {
      const dir = at('var/recovery');
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      writeFileSync(path.join(dir, file), '');
      const outcome = await new LaunchSession(host(), new RecordingReporter(), { ...options, dir }).run();
      expect(outcome.kind).toBe('restore-in-progress');
      expect(outcome.kind === 'restore-in-progress' && outcome.message).toMatch(/a restore is in progress/);
      expect(lines).toEqual([]);
      expect(existsSync(at('run/ostree-booted'))).toBe(true);
      expect(lstatSync(dir).mode & 0o777).toBe(0o755);
      rmSync(path.join(dir, file));
    }
  });

  it('refuses a backup dir outside the host root', async () => {
    const error = await new LaunchSession(host(), new RecordingReporter(), { ...options, dir: '/var/recovery' }).run().catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'usage' });
    expect(lines).toEqual([]);
  });

  it('puts /run/ostree-booted back and frees the lock when the backup fails, deleting nothing', async () => {
    const dir = at('var/recovery');
    mkdirSync(path.join(dir, 'generations/20260101T000000Z'), { recursive: true, mode: 0o755 });
    writeFileSync(path.join(dir, 'generations/20260101T000000Z/backup.json'), '{}');
    // The node root has no /etc: the backup's preflight refuses after the host was prepared.
    const error = await new LaunchSession(host(), new RecordingReporter(), { ...options, dir }).run().catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'precondition' });
    expect(lines.some((l) => l.includes('remount,rw'))).toBe(true);
    expect(existsSync(at('run/ostree-booted'))).toBe(true);
    expect(existsSync(at(OSTREE_BOOTED_ASIDE))).toBe(false);
    expect(existsSync(path.join(dir, '.upgrade-recovery.lock'))).toBe(false);
    expect(existsSync(path.join(dir, 'generations/20260101T000000Z/backup.json'))).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });
});

describe('talmOutcome', () => {
  it('maps how the run ended onto what the hub reports', () => {
    expect(talmOutcome('ok')).toBe('Succeeded');
    expect(talmOutcome('failure')).toBe('UnrecoverableError');
    expect(talmOutcome('precondition')).toBe('UnrecoverableError');
    expect(talmOutcome('signal')).toBe('BackupTimeout');
  });
});
