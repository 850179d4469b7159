// A real etcd (Debian's etcd-server) on loopback, for the sandbox node's cluster-backup.sh and
// cluster-restore.sh: the snapshot our backup takes is of a live server holding keys the test
// wrote, and a restore really puts it back. etcd runs detached, with its pid and command line in
// files, because the stand-in cluster-restore.sh stops it and starts it again on restored data.
import { execa } from 'execa';
import { createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile, open } from 'node:fs/promises';
import path from 'node:path';

export interface RunningEtcd {
  endpoint: string;
  dataDir: string;
  /** Holds the pid of the etcd serving now (cluster-restore.sh rewrites it). */
  pidFile: string;
  /** The etcd command line, one argument per line (cluster-restore.sh starts etcd again with it). */
  argsFile: string;
  put(key: string, value: string): Promise<void>;
  get(key: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

export async function startEtcd(dataDir: string): Promise<RunningEtcd> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    'etcd',
    '--name=sandbox',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${endpoint}`,
    `--advertise-client-urls=${endpoint}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=sandbox=${peer}`,
    '--log-level=error',
  ];
  const base = path.dirname(dataDir);
  const name = path.basename(dataDir);
  const pidFile = path.join(base, `${name}.pid`);
  const argsFile = path.join(base, `${name}.args`);
  await writeFile(argsFile, `${args.join('\n')}\n`);
  const log = await open(path.join(base, `${name}.log`), 'a');
  const server = spawn(args[0]!, args.slice(1), { detached: true, stdio: ['ignore', log.fd, log.fd] });
  server.unref();
  await log.close();
  await writeFile(pidFile, `${server.pid}\n`);
  const etcd: RunningEtcd = {
    endpoint,
    dataDir,
    pidFile,
    argsFile,
    async put(key, value) {
      const run = await etcdctl(endpoint, ['put', key, value]);
      if (run.exitCode !== 0) throw new Error(`etcdctl put ${key} failed: ${run.stderr}`);
    },
    async get(key) {
      const run = await etcdctl(endpoint, ['get', key, '--print-value-only']);
      if (run.exitCode !== 0) throw new Error(`etcdctl get ${key} failed: ${run.stderr}`);
      return run.stdout === '' ? undefined : run.stdout;
    },
    stop: () => stopPid(pidFile),
  };
  for (let attempt = 0; ; attempt++) {
    const health = await etcdctl(endpoint, ['endpoint', 'health']);
    if (health.exitCode === 0) break;
    if (attempt >= 100) {
      await etcd.stop().catch(() => undefined);
      throw new Error(`etcd did not become healthy on ${endpoint}: ${health.stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return etcd;
}

/** `etcdctl snapshot restore` into a new data dir, then the keys under `prefix` it holds. */
export async function keysInSnapshot(snapshot: string, restoreDir: string, prefix: string): Promise<Record<string, string>> {
  const restore = await execa('etcdctl', ['snapshot', 'restore', snapshot, `--data-dir=${restoreDir}`], {
    reject: false,
    env: { ETCDCTL_API: '3' },
  });
  if (restore.exitCode !== 0) throw new Error(`etcdctl snapshot restore failed: ${restore.stderr}`);
  const etcd = await startEtcd(restoreDir);
  try {
    return await keysWithPrefix(etcd.endpoint, prefix);
  } finally {
    await etcd.stop();
  }
}

export async function keysWithPrefix(endpoint: string, prefix: string): Promise<Record<string, string>> {
  const run = await etcdctl(endpoint, ['get', '--prefix', prefix, '-w', 'json']);
  if (run.exitCode !== 0) throw new Error(`etcdctl get --prefix ${prefix} failed: ${run.stderr}`);
  const parsed = JSON.parse(run.stdout) as { kvs?: Array<{ key: string; value: string }> };
  const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
  return Object.fromEntries((parsed.kvs ?? []).map((kv) => [decode(kv.key), decode(kv.value)]));
}

async function stopPid(pidFile: string): Promise<void> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!pid) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  process.kill(pid, 'SIGKILL');
}

function etcdctl(endpoint: string, args: string[]) {
  return execa('etcdctl', [`--endpoints=${endpoint}`, ...args], { reject: false, env: { ETCDCTL_API: '3' } });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
