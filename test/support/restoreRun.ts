// Running `restore` with the single binary against a sandbox node, with the stand-ins for the
// node's commands first on PATH, and reading back what they saw.
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { TestNode } from './sandbox.js';
import { runBinary, startBinary, type CliRun } from './sandbox.js';

export const STANDIN_BIN = path.resolve(import.meta.dirname, '../../fixtures/standins/bin');

export interface Standins {
  env: Record<string, string>;
  log: string;
  /** The calls the stand-ins recorded, one line each, in order. */
  calls(): string[];
  selinux(): Promise<string>;
  /** What the node does when it comes back from a reboot: units per their enablement, SELinux enforcing. */
  reboot(node: TestNode): Promise<void>;
}

export function standins(node: TestNode): Standins {
  const state = mkdtempSync(path.join(node.work, 'standin-state-'));
  const log = path.join(state, 'calls.log');
  const env = {
    PATH: `${STANDIN_BIN}:${process.env.PATH}`,
    STANDIN_STATE: state,
    STANDIN_LOG: log,
    STANDIN_CONTAINER_DELAY_POLLS: '1',
    STANDIN_ROLLOUT_POLLS: '1',
  };
  return {
    env,
    log,
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []),
    selinux: async () => (await execa(path.join(STANDIN_BIN, 'getenforce'), { env })).stdout.trim(),
    async reboot(n) {
      await execa(path.join(STANDIN_BIN, 'standin-boot'), { env });
      await n.reboot();
    },
  };
}

/** Fast polls: the stand-ins answer at once, so the old 10 s would only slow the tests. */
export const FAST = ['--poll-interval', '0.02', '--container-timeout', '20', '--redeploy-timeout', '20'];

export function restore(node: TestNode, s: Standins, args: string[] = []): Promise<CliRun> {
  return runBinary(['restore', '--root', node.root, '--json', ...FAST, ...args], { env: s.env });
}

export function startRestore(node: TestNode, s: Standins, args: string[] = []) {
  return startBinary(['restore', '--root', node.root, '--json', ...FAST, ...args], s.env);
}

/** Restores until done, rebooting when asked: what an operator does after an interruption. */
export async function restoreToTheEnd(node: TestNode, s: Standins, first: string[]): Promise<CliRun[]> {
  const runs: CliRun[] = [];
  let args = first;
  for (let i = 0; i < 6; i++) {
    const run = await restore(node, s, args);
    runs.push(run);
    const result = run.events.at(-1);
    // A killed run may have got as far as asking for the reboot before the kill landed.
    if (run.exitCode === 3 && /has not rebooted/.test(result?.error?.message ?? '')) {
      await s.reboot(node);
      continue;
    }
    if (run.exitCode !== 0) throw new Error(`restore ${args.join(' ')} exited ${run.exitCode}: ${run.stdout}\n${run.stderr}`);
    if (result?.kind === 'complete') return runs;
    if (result?.kind === 'reboot-required') await s.reboot(node);
    args = ['--resume'];
  }
  throw new Error('the restore did not complete in 6 runs');
}
