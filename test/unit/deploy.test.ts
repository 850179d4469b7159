// deploy/*.yaml and the Containerfile against what the code relies on (every node path it reads or
// writes is mounted at /host<path>, the command line, the backup dir) and against the Job the old
// operator creates (namespace, names, mounts, privileges, backoffLimit, deadline).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseYamlDocuments } from '../support/miniYaml.js';
import { TREE_COMPONENTS } from '../../src/backup/layout.js';
import { CLUSTER_BACKUP_SCRIPT } from '../../src/backup/clusterSnapshot.js';
import { CURRENT_CONFIG } from '../../src/backup/extras.js';
import { BOOT_ID_FILE } from '../../src/host/bootId.js';
import { OSTREE_BOOTED } from '../../src/launch/hostSetup.js';
import { launchDir } from '../../src/cli/commands/launch.js';

const repo = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(repo, file), 'utf8');
type Obj = Record<string, any>;
const docs = (file: string) => parseYamlDocuments(read(file)) as Obj[];

const job = docs('deploy/job.yaml')[0]!;
const pod = job.spec.template.spec;
const container = pod.containers[0];
const mounts: Array<{ mountPath: string; name: string; readOnly?: boolean }> = container.volumeMounts;
const volumes: Obj[] = pod.volumes;

/** The node path a container path shows, through the mount that holds it (longest prefix). */
function mountFor(containerPath: string) {
  const holders = mounts.filter((m) => containerPath === m.mountPath || containerPath.startsWith(`${m.mountPath}/`));
  return holders.sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
}
function nodePathOf(containerPath: string): string | undefined {
  const mount = mountFor(containerPath);
  const volume = volumes.find((v) => v.name === mount?.name);
  if (!mount || !volume?.hostPath) return undefined;
  return path.posix.join(volume.hostPath.path, containerPath.slice(mount.mountPath.length));
}
function flagValue(args: string[], flag: string): string | undefined {
  const index = args.indexOf(flag);
  return index >= 0 ? args[index + 1] : undefined;
}

describe('the mini YAML reader', () => {
  it('reads the subset and refuses what is outside it', () => {
    expect(parseYamlDocuments("a: 1\nb:\n  - x: 'it''s'\n    y: \"q\"\n  - -z\nc:\n- {}\n---\nd: true # note\n")).toEqual([
      { a: 1, b: [{ x: "it's", y: 'q' }, '-z'], c: [{}] },
      { d: true },
    ]);
    expect(() => parseYamlDocuments('a: [1, 2]\n')).toThrow(/outside the subset/);
    expect(() => parseYamlDocuments('a: 1\na: 2\n')).toThrow(/duplicate key/);
  });
});

describe('deploy/', () => {
  it('namespace, service account and binding are the ones the hub watches, allowed privileged pods', () => {
    const [namespace] = docs('deploy/namespace.yaml');
    expect(namespace).toMatchObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'openshift-talo-backup' } });
    expect(namespace!.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');

    const rbac = docs('deploy/rbac.yaml');
    const account = rbac.find((d) => d.kind === 'ServiceAccount')!;
    const role = rbac.find((d) => d.kind === 'ClusterRole')!;
    const binding = rbac.find((d) => d.kind === 'ClusterRoleBinding')!;
    expect(account.metadata).toEqual({ name: 'backup-agent', namespace: 'openshift-talo-backup' });
    expect(role.rules).toContainEqual({
      apiGroups: ['security.openshift.io'],
      resources: ['securitycontextconstraints'],
      resourceNames: ['privileged'],
      verbs: ['use'],
    });
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'backup-agent', namespace: 'openshift-talo-backup' }]);
    expect(pod.serviceAccountName).toBe(account.metadata.name);
  });

  it('the Job is the old one: names, no retries, a deadline, privileged, host network and pids', () => {
    expect(job).toMatchObject({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'backup-agent', namespace: 'openshift-talo-backup' } });
    expect(job.spec.backoffLimit).toBe(0);
    expect(Number.isInteger(job.spec.activeDeadlineSeconds) && job.spec.activeDeadlineSeconds > 0).toBe(true);
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.hostNetwork).toBe(true);
    expect(pod.hostPID).toBe(true);
    expect(container.securityContext).toEqual({ privileged: true, runAsUser: 0 });
    // A grace period long enough to put /run/ostree-booted back and print the last line.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(10);
    expect(container.tty).toBeUndefined();
  });

  it('runs `upgrade-recovery launch` with the host at /host and the backup dir the code defaults to', () => {
    const command: string[] = [...(container.command ?? []), ...(container.args ?? [])];
    expect(command.slice(0, 2)).toEqual(['upgrade-recovery', 'launch']);
    const hostRoot = flagValue(command, '--host-root') ?? '/host';
    expect(hostRoot).toBe('/host');
    const dir = flagValue(command, '--dir') ?? launchDir({ hostRoot, json: false, chroot: true, spaceMargin: 0 });
    expect(dir).toBe(launchDir({ hostRoot, json: false, chroot: true, spaceMargin: 0 }));
    expect(command).not.toContain('--no-chroot');
    // The backup dir is the node's /var/recovery, writable, created by the kubelet when missing.
    expect(nodePathOf(dir)).toBe('/var/recovery');
    expect(mountFor(dir)!.readOnly).not.toBe(true);
    expect(volumes.find((v) => v.name === mountFor(dir)!.name)!.hostPath.type).toBe('DirectoryOrCreate');
  });

  it('mounts every node path the code uses at /host<path>, writable where it writes', () => {
    const hostRoot = '/host';
    expect(volumes.find((v) => v.name === mountFor(hostRoot)!.name)!.emptyDir).toEqual({});
    // Every hostPath mount shows the node's path at the same path under /host.
    for (const mount of mounts.filter((m) => m.mountPath !== hostRoot)) {
      expect(mount.mountPath.startsWith(`${hostRoot}/`), mount.mountPath).toBe(true);
      expect(nodePathOf(mount.mountPath), mount.mountPath).toBe(mount.mountPath.slice(hostRoot.length));
    }
    const read = [...TREE_COMPONENTS.map((t) => t.nodePath), CLUSTER_BACKUP_SCRIPT, CURRENT_CONFIG, BOOT_ID_FILE, '/var/lib/etcd/member/snap/db', '/etc/kubernetes/static-pod-resources', '/dev/log', '/usr/bin', '/usr/lib64'];
    for (const nodePath of read) expect(nodePathOf(`${hostRoot}${nodePath}`), nodePath).toBe(nodePath);
    // Written: the backup dir, /run/ostree-booted (moved aside), the sysroot (pin) and /boot (undeploy).
    for (const nodePath of ['/var/recovery', OSTREE_BOOTED, '/sysroot', '/boot']) {
      expect(nodePathOf(`${hostRoot}${nodePath}`), nodePath).toBe(nodePath);
      expect(mountFor(`${hostRoot}${nodePath}`)!.readOnly, nodePath).not.toBe(true);
    }
    expect(volumes.find((v) => v.name === mountFor('/host/dev/log')!.name)!.hostPath.type).toBe('Socket');
  });

  it('has the same host mounts as the Job the old operator creates', () => {
    const old = {
      '/host/boot': 'ro', '/host/dev/log': 'rw', '/host/etc': 'rw', '/host/proc': 'ro', '/host/run': 'rw', '/host/sysroot': 'rw',
      '/host/tmp': 'rw', '/host/usr/bin': 'ro', '/host/usr/lib': 'ro', '/host/usr/lib64': 'ro', '/host/usr/libexec': 'ro',
      '/host/usr/local': 'ro', '/host/usr/share/containers': 'ro', '/host/var/lib/cni': 'ro', '/host/var/lib/containers': 'rw',
      '/host/var/lib/etcd': 'ro', '/host/var/lib/kubelet': 'ro', '/host/var/lib/ovn-ic': 'ro', '/host/var/recovery': 'rw',
      '/host/var/tmp': 'rw', '/host/sys/fs/cgroup': 'ro',
    } as Record<string, 'ro' | 'rw'>;
    const ours = Object.fromEntries(mounts.filter((m) => m.mountPath !== '/host').map((m) => [m.mountPath, m.readOnly ? 'ro' : 'rw']));
    // The one deliberate difference: ostree admin undeploy rewrites the boot loader entries in /boot.
    expect(ours).toEqual({ ...old, '/host/boot': 'rw' });
    expect(new Set(mounts.map((m) => m.name)).size).toBe(mounts.length);
    expect(volumes.map((v) => v.name).sort()).toEqual(mounts.map((m) => m.name).sort());
  });
});

describe('Containerfile', () => {
  const text = read('Containerfile');
  it('builds the single binary in a first stage and ships it with the tools launch runs', () => {
    expect(text).toMatch(/^FROM \S+ AS build$/m);
    expect(text).toMatch(/RUN npm ci\b/);
    expect(text).toMatch(/npm run build:binary/);
    expect(text).toMatch(/^COPY --from=build \/src\/dist\/upgrade-recovery \/usr\/local\/bin\/upgrade-recovery$/m);
    const install = /microdnf install[^\n]*(?:\\\n[^\n]*)*/.exec(text)?.[0] ?? '';
    for (const pkg of ['attr', 'util-linux', 'rsync', 'tar', 'libstdc++']) expect(install.split(/\s+/), pkg).toContain(pkg);
    // The Job's command names the binary by name: it must be on the image's PATH.
    expect(container.command[0]).toBe('upgrade-recovery');
  });
});
