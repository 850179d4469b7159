// What the node root needs before its own commands can run chrooted into it from the Job's
// container, as the old Job prepared it: the container's /host is an empty dir with the node's
// paths mounted into it, so there is no /dev/null or /dev/shm (cluster-backup.sh, and the podman
// it may start, need both) and no /bin or /lib64 links, /sysroot is mounted read-only (ostree
// writes there to pin), and /run/ostree-booted says "booted from this sysroot" although / is not
// one of its deployments, which makes ostree refuse to work. Mounts go through the command runner (`mount`, `mknod`), so
// tests see them recorded; everything here is the container's view of /host paths.
import { firstLine } from '../core/firstLine.js';
import path from 'node:path';
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError } from '../core/errors.js';
import { exists } from '../host/durable.js';

export const OSTREE_BOOTED = '/run/ostree-booted';
/** Where /run/ostree-booted waits while launch runs; a leftover means a run was killed. */
export const OSTREE_BOOTED_ASIDE = '/run/ostree-booted.upgrade-recovery-aside';
/** Linux's device number of /dev/null (major 1, minor 3), as stat's rdev reports it. */
const DEV_NULL_RDEV = (1 << 8) | 3;

export interface PreparedHost {
  /** Puts back what must not outlive the run (/run/ostree-booted). Safe to call more than once. */
  undo(): Promise<void>;
}

/**
 * A run killed by SIGKILL (the Job's deadline) cannot put /run/ostree-booted back: the next run
 * does it first. When both exist, something on the node has recreated the marker since: that one
 * wins and the copy aside goes. (/run is a tmpfs: a reboot clears both.)
 */
export async function repairOstreeBooted(host: Host, reporter: Reporter): Promise<void> {
  const original = host.root.path(OSTREE_BOOTED);
  const aside = host.root.path(OSTREE_BOOTED_ASIDE);
  if (!(await exists(host.fs, aside))) return;
  if (await exists(host.fs, original)) {
    await host.fs.rm(aside, { force: true });
    return;
  }
  await host.fs.rename(aside, original);
  reporter.warn(`${OSTREE_BOOTED} was left aside by an interrupted run; put back`);
}

/** The links of a merged /usr that every RHCOS binary needs (its ELF interpreter is /lib64/...). */
const USR_LINKS = ['bin', 'sbin', 'lib', 'lib64'] as const;

export async function prepareHost(host: Host, reporter: Reporter): Promise<PreparedHost> {
  await ensureUsrLinks(host, reporter);
  await ensureDevNull(host, reporter);
  await ensureDevShm(host, reporter);
  await makeSysrootWritable(host, reporter);
  return moveOstreeBootedAside(host, reporter);
}

/** The Job mounts /usr/bin, /usr/lib64, ... but /host itself is an empty dir without /bin, /lib64. */
async function ensureUsrLinks(host: Host, reporter: Reporter): Promise<void> {
  for (const name of USR_LINKS) {
    const link = host.root.path(`/${name}`);
    if (await host.fs.lstat(link).then(() => true, () => false)) continue;
    if (!(await host.fs.stat(host.root.path(`/usr/${name}`)).then((s) => s.isDirectory(), () => false))) continue;
    await host.fs.symlink(`usr/${name}`, link);
    reporter.info(`Linked ${link} -> usr/${name}, as on the node`);
  }
}

async function ensureDevNull(host: Host, reporter: Reporter): Promise<void> {
  const file = host.root.path('/dev/null');
  const stat = await host.fs.lstat(file).catch(() => undefined);
  if (stat?.isCharacterDevice() && stat.rdev === DEV_NULL_RDEV) return;
  // A plain file there (something wrote to /dev/null before it existed) would fill up and lie.
  if (stat) await host.fs.rm(file, { recursive: true, force: true });
  await host.fs.mkdir(path.dirname(file), { recursive: true });
  await mustRun(host, 'mknod', ['-m', '0666', file, 'c', '1', '3'], `cannot create ${file}`);
  reporter.info(`Created ${file} (character device 1:3)`);
}

async function ensureDevShm(host: Host, reporter: Reporter): Promise<void> {
  const dir = host.root.path('/dev/shm');
  await host.fs.mkdir(dir, { recursive: true });
  // A mount point sits on another device than its parent (what `mountpoint` checks).
  const [own, parent] = await Promise.all([host.fs.stat(dir), host.fs.stat(path.dirname(dir))]);
  if (own.dev !== parent.dev) return;
  await mustRun(host, 'mount', ['-t', 'tmpfs', '-o', 'mode=1777,nosuid,nodev', 'tmpfs', dir], `cannot mount a tmpfs on ${dir}`);
  reporter.info(`Mounted a tmpfs on ${dir}`);
}

async function makeSysrootWritable(host: Host, reporter: Reporter): Promise<void> {
  const sysroot = host.root.path('/sysroot');
  if (!(await host.fs.stat(sysroot).then((s) => s.isDirectory(), () => false))) {
    // A root that is itself the sysroot (a sandbox, a node's copy): nothing mounted to remount.
    reporter.info(`No ${sysroot}: ostree works on ${host.root.dir} itself`);
    return;
  }
  await mustRun(host, 'mount', ['-o', 'remount,rw', sysroot], `cannot remount ${sysroot} read-write (ostree admin pin writes there)`);
  // On the node /ostree is a link into /sysroot; the Job's /host is an empty dir without it.
  const ostree = host.root.path('/ostree');
  if (!(await host.fs.lstat(ostree).then(() => true, () => false)) && (await exists(host.fs, path.join(sysroot, 'ostree')))) {
    await host.fs.symlink('sysroot/ostree', ostree);
    reporter.info(`Linked ${ostree} -> sysroot/ostree, as on the node`);
  }
}

async function moveOstreeBootedAside(host: Host, reporter: Reporter): Promise<PreparedHost> {
  const original = host.root.path(OSTREE_BOOTED);
  const aside = host.root.path(OSTREE_BOOTED_ASIDE);
  if (!(await exists(host.fs, original))) return { undo: async () => undefined };
  await host.fs.rename(original, aside);
  reporter.info(`Moved ${OSTREE_BOOTED} aside while ostree runs chrooted; it is put back at the end`);
  let pending = true;
  return {
    async undo() {
      if (!pending) return;
      pending = false;
      if (await exists(host.fs, original)) await host.fs.rm(aside, { force: true });
      else await host.fs.rename(aside, original);
    },
  };
}

async function mustRun(host: Host, command: string, args: string[], what: string): Promise<void> {
  const run = await host.runner.run(command, args);
  if (run.exitCode !== 0) {
    const why = firstLine(run.stderr || run.stdout) || `exit ${run.exitCode}`;
    throw new RecoveryError('failure', `${what}: ${command} ${args.join(' ')}: ${why}`);
  }
}
