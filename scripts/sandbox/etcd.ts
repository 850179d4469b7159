// A real etcd (Debian's etcd-server) on loopback, for the sandbox node's cluster-backup.sh: the
// snapshot our backup takes is of a live server holding keys the test wrote.
import { execa, type ResultPromise } from 'execa';
import { createServer } from 'node:net';
import { mkdir } from 'node:fs/promises';

export interface RunningEtcd {
  endpoint: string;
  dataDir: string;
  put(key: string, value: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startEtcd(dataDir: string): Promise<RunningEtcd> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const server: ResultPromise = execa(
    'etcd',
    [
      '--name=sandbox',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=sandbox=${peer}`,
      '--log-level=error',
    ],
    { reject: false, stdout: 'ignore', stderr: 'pipe', env: { ETCD_UNSUPPORTED_ARCH: '' } },
  );
  let exited = false;
  void server.finally(() => (exited = true));
  const stop = async () => {
    server.kill('SIGTERM');
    await server;
  };
  for (let attempt = 0; ; attempt++) {
    const health = await etcdctl(endpoint, ['endpoint', 'health']);
    if (health.exitCode === 0) break;
    if (attempt >= 100 || exited) {
      await stop().catch(() => undefined);
      throw new Error(`etcd did not become healthy on ${endpoint}: ${health.stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    endpoint,
    dataDir,
    async put(key, value) {
      const run = await etcdctl(endpoint, ['put', key, value]);
      if (run.exitCode !== 0) throw new Error(`etcdctl put ${key} failed: ${run.stderr}`);
    },
    stop,
  };
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
    const run = await etcdctl(etcd.endpoint, ['get', '--prefix', prefix, '-w', 'json']);
    const parsed = JSON.parse(run.stdout) as { kvs?: Array<{ key: string; value: string }> };
    const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
    return Object.fromEntries((parsed.kvs ?? []).map((kv) => [decode(kv.key), decode(kv.value)]));
  } finally {
    await etcd.stop();
  }
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
