// What a failed upgrade leaves behind on a sandbox node, and the checks that a restore undid it:
// files changed (content, size, mode, owner, labels, ACLs, links), added and deleted in all three
// trees, and keys written to etcd after the backup.
import { execa } from 'execa';
import { appendFileSync, chmodSync, existsSync, lchownSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { rsyncDifferences } from './backupChecks.js';
import type { TestNode } from './sandbox.js';

export const TREES = [
  ['etc', '/etc'],
  ['local', '/usr/local'],
  ['kubelet', '/var/lib/kubelet'],
] as const;

/** Keys the "upgrade" writes to etcd: a restored etcd must not have them. */
export const UPGRADE_KEY = '/kubernetes.io/upgrade/written-after-the-backup';

export async function simulateUpgrade(node: TestNode, round = 0): Promise<void> {
  const r = (p: string) => path.join(node.root, p);
  const certs = readdirSync(r('etc/pki/tls/certs')).filter((n) => n.startsWith('cert-')).sort();
  // Same size, same mtime, other bytes: only a content comparison sees it.
  const sneaky = r(`etc/pki/tls/certs/${certs[round % certs.length]}`);
  await execa('cp', ['-a', sneaky, `${sneaky}.orig`]);
  await execa('bash', ['-c', 'printf X | dd of="$1" bs=1 seek=40 conv=notrunc status=none', 'sh', sneaky]);
  await execa('touch', ['-h', '-r', `${sneaky}.orig`, sneaky]);
  rmSync(`${sneaky}.orig`);
  appendFileSync(r('etc/hostname'), `upgraded-${round}\n`);
  writeFileSync(r(`etc/new-in-upgrade-${round}.conf`), 'added by the upgrade\n');
  mkdirSync(r(`etc/new-dir-${round}/sub`), { recursive: true });
  writeFileSync(r(`etc/new-dir-${round}/sub/file`), 'x');
  rmSync(r(`etc/pki/tls/certs/${certs[(round + 1) % certs.length]}`), { force: true });
  chmodSync(r('etc/sudoers'), 0o644);
  lchownSync(r('etc/passwd'), 123, 456);
  await execa('setfattr', ['-h', '-n', 'security.selinux', '-v', 'system_u:object_r:unlabeled_t:s0', r('etc/kubernetes/kubelet.conf')]);
  await execa('setfacl', ['-b', r('etc/NetworkManager/system-connections/br-ex.nmconnection')]);
  // The excluded paths: an upgrade's own changes there are left alone by the restore.
  mkdirSync(r('etc/kubernetes/manifests'), { recursive: true });
  writeFileSync(r('etc/kubernetes/manifests/new-static-pod.yaml'), 'kind: Pod\n');
  writeFileSync(r('etc/.updated'), `TIMESTAMP=${round}\n`);

  writeFileSync(r('usr/local/bin/new-tool'), 'new binary\n');
  rmSync(r('usr/local/share/doc/README'), { force: true });
  chmodSync(r('usr/local/sbin/privileged-helper'), 0o755);
  rmSync(r('usr/local/bin/nt'), { force: true });
  symlinkSync('somewhere-else', r('usr/local/bin/nt'));
  await execa('dd', ['if=/dev/urandom', `of=${r('usr/local/share/disk.img')}`, 'bs=64k', 'count=4', 'seek=100', 'conv=notrunc', 'status=none']);

  const pods = readdirSync(r('var/lib/kubelet/pods')).sort();
  rmSync(r(`var/lib/kubelet/pods/${pods[0]}`), { recursive: true, force: true });
  mkdirSync(r(`var/lib/kubelet/pods/new-pod-${round}/volumes`), { recursive: true });
  writeFileSync(r('var/lib/kubelet/config.json'), '{"auths":{"upgraded":{}}}\n');
  const blob = readdirSync(r('var/lib/kubelet/pods')).map((p) => r(`var/lib/kubelet/pods/${p}/volumes/kubernetes.io~empty-dir/cache/blob.link`)).find(existsSync);
  if (blob) {
    // Break a hard link: the restore must make the two names one inode again.
    await execa('cp', ['-a', blob, `${blob}.tmp`]);
    await execa('mv', [`${blob}.tmp`, blob]);
  }
  await node.etcd.put(UPGRADE_KEY, `round-${round}`);
}

/** rsync finds nothing to change between each tree and its backup copy, except excluded paths. */
export async function expectTreesRestored(node: TestNode): Promise<void> {
  for (const [name, nodePath] of TREES) {
    // etc.exclude.list, plus the dir where cluster-restore.sh parks the etcd manifest while it works
    // (after the /etc restore, as on a real node).
    // cluster-restore.sh then touches /etc/kubernetes's mtime, legitimately.
    const excluded = name === 'etc' ? ['/kubernetes/manifests', '/.updated', '/iscsi', '/sno-runtime', '/pki/ca-trust/source/anchors/extra.pem', '/kubernetes/manifests-stopped'] : [];
    const differences = (await rsyncDifferences(path.join(node.backupDir, name), path.join(node.root, nodePath), excluded))
      .split('\n')
      .filter((line) => !(name === 'etc' && line === '.d..t...... kubernetes/'))
      .join('\n');
    expect(differences, `${nodePath} differs from ${name}/`).toBe('');
  }
}

/** The keys written before the backup are back, the ones written after it are gone. */
export async function expectEtcdRestored(node: TestNode): Promise<void> {
  for (const [key, value] of Object.entries(node.keys)) expect(await node.etcd.get(key), key).toBe(value);
  expect(await node.etcd.get(UPGRADE_KEY)).toBeUndefined();
}
