// The stand-in cluster-backup.sh is a test part of its own: it must behave like the real script
// where our tool can see it, or the backup tests prove nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTestNode, type TestNode } from '../support/sandbox.js';

describe('stand-in cluster-backup.sh', () => {
  let node: TestNode;
  let script: string;
  beforeAll(async () => {
    node = await makeTestNode({ seed: 21, smallFiles: 50, pods: 1, bigFileBytes: 1024 });
    script = path.join(node.root, 'usr/local/bin/cluster-backup.sh');
  });
  afterAll(() => node?.cleanup());

  it('with --force writes the real file names, mode 0600, the newest revisions and a snapshot status', async () => {
    const dir = path.join(node.work, 'forced');
    const log = path.join(node.work, 'standin.log');
    const run = await execa(script, ['--force', dir], { env: { STANDIN_LOG: log } });
    const names = readdirSync(dir).sort();
    expect(names).toHaveLength(2);
    expect(names[0]).toMatch(/^snapshot_\d{4}-\d\d-\d\d_\d{6}__POSSIBLY_DIRTY__\.db$/);
    expect(names[1]).toMatch(/^static_kuberesources_\d{4}-\d\d-\d\d_\d{6}__POSSIBLY_DIRTY__\.tar\.gz$/);
    for (const name of names) expect(statSync(path.join(dir, name)).mode & 0o777).toBe(0o600);
    const listing = (await execa('tar', ['tzf', path.join(dir, names[1]!)])).stdout;
    expect(listing).toContain('etc/kubernetes/static-pod-resources/kube-apiserver-pod-9/');
    expect(listing).not.toContain('kube-apiserver-pod-8/');
    expect(run.stdout).toMatch(/"totalKey":\d+/);
    expect(readFileSync(log, 'utf8')).toBe(`cluster-backup.sh --force ${dir}\n`);
  });

  it('without --force refuses while an operator is progressing, and names files without the suffix otherwise', async () => {
    const refused = await execa(script, [path.join(node.work, 'refused')], { reject: false, env: { STANDIN_OPERATORS_PROGRESSING: 'etcd' } });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('etcd operator is progressing');
    const clean = path.join(node.work, 'clean');
    await execa(script, [clean]);
    expect(readdirSync(clean).every((n) => !n.includes('__POSSIBLY_DIRTY__'))).toBe(true);
  });

  it('deletes both files when etcd cannot be reached', async () => {
    const dir = path.join(node.work, 'etcd-down');
    const env = path.join(node.root, 'etc/kubernetes/static-pod-resources/etcd-certs/configmaps/etcd-scripts/etcd.env');
    const original = readFileSync(env, 'utf8');
    writeFileSync(env, original.replace(/ETCDCTL_ENDPOINTS=.*/, 'ETCDCTL_ENDPOINTS=http://127.0.0.1:1'));
    try {
      const run = await execa(script, ['--force', dir], { reject: false, env: { ETCDCTL_COMMAND_TIMEOUT: '2s' } });
      expect(run.exitCode).not.toBe(0);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      writeFileSync(env, original);
    }
  });
});
