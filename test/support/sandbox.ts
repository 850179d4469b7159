// A sandbox node with a real etcd behind its cluster-backup.sh, for integration and end-to-end
// tests, and a way to run the single binary against it.
import { execa, type ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createSandboxNode, removeSandbox, type SandboxNode, type SandboxOptions } from '../../scripts/sandbox/sandboxNode.js';
import { startEtcd, type RunningEtcd } from '../../scripts/sandbox/etcd.js';
import { jsonLines } from './backupChecks.js';

export interface TestNode extends SandboxNode {
  work: string;
  etcd: RunningEtcd;
  backupDir: string;
  /** Keys written to etcd before any backup: a restored snapshot must hold them. */
  keys: Record<string, string>;
  cleanup(): Promise<void>;
}

export async function makeTestNode(options: SandboxOptions = {}): Promise<TestNode> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'ur-test-'));
  const etcd = await startEtcd(path.join(work, 'etcd'));
  const keys: Record<string, string> = {};
  for (let i = 0; i < 50; i++) keys[`/kubernetes.io/test/key-${i}`] = `value-${i}-${Math.random()}`;
  for (const [key, value] of Object.entries(keys)) await etcd.put(key, value);
  const root = path.join(work, 'node');
  const node = await createSandboxNode(root, { smallFiles: 1500, pods: 12, bigFileBytes: 8 * 1024 * 1024, ...options, etcd });
  return {
    ...node,
    work,
    etcd,
    keys,
    backupDir: path.join(root, 'var/recovery'),
    async cleanup() {
      await etcd.stop();
      await removeSandbox(work);
    },
  };
}

export const BINARY = path.resolve(import.meta.dirname, '../../dist/upgrade-recovery');

export function requireBinary(): string {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run npm run build:binary (npm test does it first)`);
  return BINARY;
}

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  events: Array<Record<string, any>>;
}

/** Runs the single binary with arguments, as an operator would; never throws on exit codes. */
export async function runBinary(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliRun> {
  const run = await execa(requireBinary(), args, { reject: false, env: options.env ?? {}, ...(options.cwd ? { cwd: options.cwd } : {}) });
  return { exitCode: run.exitCode ?? -1, stdout: run.stdout, stderr: run.stderr, events: jsonLines(run.stdout) };
}

/** Starts the binary and hands back the running process, for tests that kill it. */
export function startBinary(args: string[], env: Record<string, string> = {}): ResultPromise<{ reject: false; buffer: false; env: Record<string, string> }> {
  return execa(requireBinary(), args, { reject: false, buffer: false, env });
}

/** Starts the binary and SIGKILLs it when `when` says so about one of its JSON events. */
export async function killWhen(
  args: string[],
  env: Record<string, string>,
  when: (event: Record<string, any>) => boolean,
  delayMs = 0,
): Promise<{ killedAt?: Record<string, any>; exitCode: number | undefined }> {
  const child = startBinary(args, env);
  let killedAt: Record<string, any> | undefined;
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (killedAt || !line.startsWith('{')) continue;
      const event = JSON.parse(line);
      if (when(event)) {
        killedAt = event;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    }
  });
  const result = await child;
  return { ...(killedAt ? { killedAt } : {}), exitCode: result.exitCode };
}
