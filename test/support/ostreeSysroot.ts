// A real ostree sysroot in a plain directory (Debian's ostree, as root), with the deployments a
// test asks for: what the sandbox node has (scripts/sandbox/sandboxNode.ts), and more on demand.
// Nothing is booted in such a sysroot: the tests say which one "runs" through the rpm-ostree
// stand-in's state (fixtures/standins/bin/lib/standin.py), or let deployment 0 be taken.
import { afterEach } from 'vitest';
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeSandbox } from '../../scripts/sandbox/sandboxNode.js';
import { STANDIN_BIN } from './restoreRun.js';

export interface TestSysroot {
  work: string;
  /** The node root: `--root` for the tool, `--sysroot` for ostree. */
  root: string;
  /** The stand-ins first on PATH, with their own state and call log. */
  env: Record<string, string>;
  log: string;
  state: string;
  /** Commits a new version and deploys it as the new default (index 0); returns its checksum. */
  deploy(version: string): Promise<string>;
  ostree(...args: string[]): Promise<string>;
  /** `ostree admin status` as ostree prints it. */
  status(): Promise<string>;
  /** The checksums in ostree's order, with `p` after the pinned ones. */
  order(): Promise<string[]>;
  cleanup(): Promise<void>;
}

export async function makeSysroot(versions: string[]): Promise<TestSysroot> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'ur-sysroot-'));
  const root = path.join(work, 'node');
  const tree = path.join(work, 'tree');
  mkdirSync(root);
  mkdirSync(path.join(tree, 'usr/lib/modules/5.14.0-284.el9.x86_64'), { recursive: true });
  mkdirSync(path.join(tree, 'usr/etc'), { recursive: true });
  writeFileSync(path.join(tree, 'usr/lib/modules/5.14.0-284.el9.x86_64/vmlinuz'), 'kernel\n');
  writeFileSync(path.join(tree, 'usr/lib/modules/5.14.0-284.el9.x86_64/initramfs.img'), 'initramfs\n');
  writeFileSync(path.join(tree, 'usr/lib/os-release'), 'NAME="Red Hat Enterprise Linux CoreOS"\nID="rhcos"\n');
  symlinkSync('../lib/os-release', path.join(tree, 'usr/etc/os-release'));
  const sysroot = `--sysroot=${root}`;
  await execa('ostree', ['admin', 'init-fs', root]);
  await execa('ostree', ['admin', 'os-init', 'rhcos', sysroot]);
  const state = path.join(work, 'standin-state');
  const log = path.join(work, 'calls.log');
  const run = async (...args: string[]) => (await execa('ostree', args)).stdout;
  const self: TestSysroot = {
    work,
    root,
    env: { PATH: `${STANDIN_BIN}:${process.env.PATH}`, STANDIN_STATE: state, STANDIN_LOG: log },
    log,
    state,
    async deploy(version) {
      writeFileSync(path.join(tree, 'usr/lib/build'), `${version}\n`);
      const commit = (await run(`--repo=${root}/ostree/repo`, 'commit', '--branch=rhcos', `--subject=${version}`, `--add-metadata-string=version=${version}`, `--tree=dir=${tree}`)).trim();
      // --retain: without a booted deployment ostree would keep only the newest two.
      await run('admin', 'deploy', '--retain', '--os=rhcos', sysroot, commit);
      return commit;
    },
    ostree: (...args) => run(...args),
    status: () => run('admin', 'status', sysroot),
    async order() {
      const text = await self.status();
      return [...text.matchAll(/^[* ] rhcos ([0-9a-f]{64})\.\d+.*\n(?: {4}.*\n?)*/gm)].map((m) => `${m[1]}${/Pinned: yes/.test(m[0]) ? ' p' : ''}`);
    },
    cleanup: () => removeSandbox(work),
  };
  for (const version of versions) await self.deploy(version);
  return self;
}

/**
 * For a test file: a maker of sysroots with the given versions deployed, each removed after the
 * test that made it.
 */
export function sysrootsCleanedAfterEach(): (...versions: string[]) => Promise<TestSysroot> {
  const made: TestSysroot[] = [];
  afterEach(async () => {
    for (const s of made.splice(0)) await s.cleanup();
  });
  return async (...versions) => {
    const s = await makeSysroot(versions);
    made.push(s);
    return s;
  };
}
