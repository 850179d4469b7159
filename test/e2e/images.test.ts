// backup --images and the restore that loads them, with the single binary, real skopeo and a real
// containers-storage under the sandbox node's root (vfs). Only CRI-O and crictl are stand-ins; the
// crictl stand-in lists the real storage, and `crio wipe -f` really empties it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { makeTestNode, runBinary, killWhen, type TestNode } from '../support/sandbox.js';
import { currentGeneration, readSummary, resultLine } from '../support/backupChecks.js';
import { FAST, restore, restoreToTheEnd, standins, type Standins } from '../support/restoreRun.js';
import { buildOciImage, GRAPHROOT, inStorage, loadIntoStorage, writeStorageConf, type BuiltImage } from '../support/ociImage.js';

describe('container images: backup --images, verify, status, restore', () => {
  let node: TestNode;
  let s: Standins;
  let etcd: BuiltImage;
  let operator: BuiltImage;
  let unused: BuiltImage;
  const backup = (...args: string[]) => runBinary(['backup', '--root', node.root, '--json', '--space-margin', '0', ...args], { env: s.env });
  const index = () => JSON.parse(readFileSync(path.join(currentGeneration(node.backupDir), 'images/images.json'), 'utf8'));

  beforeAll(async () => {
    node = await makeTestNode({ seed: 71, smallFiles: 200, pods: 2, bigFileBytes: 1024 * 1024 });
    s = standins(node);
    s.env.STANDIN_NODE_ROOT = node.root;
    writeStorageConf(node.root);
    etcd = await buildOciImage(path.join(node.work, 'img-etcd'), [{ 'usr/bin/etcd': 'etcd 3.5.10' }]);
    operator = await buildOciImage(path.join(node.work, 'img-operator'), [{ 'usr/bin/operator': 'operator' }, { 'etc/operator.conf': 'level=2\n' }]);
    unused = await buildOciImage(path.join(node.work, 'img-unused'), [{ 'README': 'not used by any container' }]);
    await loadIntoStorage(node.root, etcd.layout, 'quay.io/test/etcd:v1');
    await loadIntoStorage(node.root, etcd.layout, `quay.io/test/etcd@${etcd.manifestDigest}`);
    await loadIntoStorage(node.root, operator.layout, 'quay.io/test/operator:v1');
    await loadIntoStorage(node.root, unused.layout, 'quay.io/test/unused:v1');
    // Five containers, two images: the same image named by tag and by digest is saved once.
    writeFileSync(
      path.join(s.env.STANDIN_STATE!, 'container-images.json'),
      JSON.stringify({
        etcd: 'quay.io/test/etcd:v1',
        'etcd-operator': `quay.io/test/etcd@${etcd.manifestDigest}`,
        'kube-apiserver-operator': 'quay.io/test/operator:v1',
        'kube-controller-manager-operator': 'quay.io/test/operator:v1',
        'kube-scheduler-operator-container': operator.id,
      }),
    );
  });
  afterAll(() => node?.cleanup());

  it('--images-include/--images-exclude narrow the set, and need --images', async () => {
    const excluded = await backup('--images', '--images-exclude', 'quay.io/test/operator*');
    expect(excluded.exitCode, excluded.stdout + excluded.stderr).toBe(0);
    expect(index().images.map((i: { id: string }) => i.id)).toEqual([etcd.id]);
    expect(index().leftOut.map((i: { id: string }) => i.id)).toEqual([operator.id]);
    const included = await backup('--images', '--images-include', '*/oper?tor:*');
    expect(included.exitCode).toBe(0);
    expect(index().images.map((i: { id: string }) => i.id)).toEqual([operator.id]);
    const alone = await backup('--images-include', 'x');
    expect(alone.exitCode).toBe(2);
    expect(resultLine(alone.stdout).error.message).toContain('add --images');
  });

  it('saves each image in use once, by ID, as an OCI layout listed with its digests; verify and status cover them', async () => {
    const run = await backup('--images');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const generation = currentGeneration(node.backupDir);
    const saved = index().images;
    expect(saved.map((i: { id: string }) => i.id).sort()).toEqual([etcd.id, operator.id].sort());
    const etcdSaved = saved.find((i: { id: string }) => i.id === etcd.id);
    expect(etcdSaved).toMatchObject({ names: ['quay.io/test/etcd:v1'], manifestDigest: etcd.manifestDigest, configDigest: `sha256:${etcd.id}`, dir: `images/${etcd.id}` });
    expect(etcdSaved.repoDigests).toContain(`quay.io/test/etcd@${etcd.manifestDigest}`);
    expect(readdirSync(path.join(generation, 'images')).sort()).toEqual([etcd.id, operator.id, 'images.json'].sort());
    expect(existsSync(path.join(generation, `images/${etcd.id}/blobs/sha256/${etcd.manifestDigest.slice(7)}`))).toBe(true);
    const summary = readSummary(node.backupDir);
    expect(summary.images).toMatchObject({ index: 'images/images.json', count: 2 });
    expect(summary.files.map((f: { name: string }) => f.name)).toContain('images/images.json');

    const verify = await runBinary(['verify', '--root', node.root, '--data', '--json'], { env: s.env });
    expect(verify.exitCode, verify.stdout).toBe(0);
    expect(verify.events.some((e) => e.event === 'stepEnd' && e.step === 'verify-images' && e.outcome === 'done')).toBe(true);
    const status = await runBinary(['status', '--root', node.root, '--json'], { env: s.env });
    expect(resultLine(status.stdout).backup.images).toEqual({ count: 2, bytes: summary.images.bytes });
    const text = await runBinary(['status', '--root', node.root], { env: s.env });
    expect(text.stdout).toMatch(/images: 2 container image\(s\) saved/);
  });

  it('a damaged layer names the image: verify --data fails, and a restore refuses before anything is wiped', async () => {
    const saved = index().images.find((i: { id: string }) => i.id === operator.id);
    const manifest = JSON.parse(readFileSync(path.join(currentGeneration(node.backupDir), saved.dir, 'blobs/sha256', saved.manifestDigest.slice(7)), 'utf8'));
    const layer = path.join(currentGeneration(node.backupDir), saved.dir, 'blobs/sha256', manifest.layers[1].digest.slice(7));
    const flip = () => {
      const fd = openSync(layer, 'r+');
      const byte = Buffer.alloc(1);
      readSync(fd, byte, 0, 1, 100);
      byte[0] = byte[0]! ^ 0xff;
      writeSync(fd, byte, 0, 1, 100);
      closeSync(fd);
    };
    flip();
    try {
      const verify = await runBinary(['verify', '--root', node.root, '--data', '--json'], { env: s.env });
      expect(verify.exitCode).toBe(1);
      expect(verify.stdout).toContain(`image quay.io/test/operator:v1 (${operator.id.slice(0, 12)}): blob ${manifest.layers[1].digest}: content differs from its digest`);
      const before = s.calls().length;
      const refused = await restore(node, s);
      expect(refused.exitCode).toBe(3);
      expect(resultLine(refused.stdout).error.message).toContain('quay.io/test/operator:v1');
      expect(s.calls().slice(before).filter((c) => /^(crio|systemctl stop|crictl rmp)/.test(c))).toEqual([]);
      expect(existsSync(path.join(node.backupDir, 'restore.journal'))).toBe(false);
    } finally {
      flip();
    }
  });

  it('the restore wipes the storage, then after the reboot loads each image as a journal step (resumable), with its tags and digests', async () => {
    const files = await restore(node, s);
    expect(files.exitCode, files.stdout + files.stderr).toBe(0);
    expect(readdirSync(path.join(node.root, GRAPHROOT))).toEqual([]);
    await s.reboot(node);

    // Killed as the second image starts loading: the next run skips the first and redoes the second.
    const steps = index().images.map((i: { id: string }) => `load-image-${i.id.slice(0, 12)}`);
    const killed = await killWhen(['restore', '--root', node.root, '--json', ...FAST, '--resume'], s.env, (e) => e.event === 'stepStart' && e.step === steps[1]);
    expect(killed.killedAt?.step).toBe(steps[1]);
    const journal = readFileSync(path.join(node.backupDir, 'restore.journal'), 'utf8');
    expect(journal).toContain(`"kind":"stepEnd","phase":"cluster","step":"${steps[0]}"`);
    const order = journal.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.kind === 'stepEnd').map((r) => r.step);
    expect(order.indexOf('start-crio')).toBeLessThan(order.indexOf(steps[0]));

    const runs = await restoreToTheEnd(node, s, ['--resume']);
    const last = runs.at(-1)!;
    expect(resultLine(last.stdout)).toMatchObject({ ok: true, kind: 'complete' });
    const resumedSteps = runs.flatMap((r) => r.events.filter((e) => e.event === 'stepStart').map((e) => e.step));
    expect(resumedSteps).not.toContain(steps[0]);
    expect(resumedSteps).toContain(steps[1]);
    expect(resumedSteps.indexOf(steps[1])).toBeLessThan(resumedSteps.indexOf('cluster-restore'));

    expect(await inStorage(node.root, 'quay.io/test/etcd:v1')).toEqual({ manifestDigest: etcd.manifestDigest, configDigest: `sha256:${etcd.id}` });
    expect(await inStorage(node.root, `quay.io/test/etcd@${etcd.manifestDigest}`)).toEqual({ manifestDigest: etcd.manifestDigest, configDigest: `sha256:${etcd.id}` });
    expect(await inStorage(node.root, 'quay.io/test/operator:v1')).toEqual({ manifestDigest: operator.manifestDigest, configDigest: `sha256:${operator.id}` });
    expect(await inStorage(node.root, `@${operator.id}`)).toBeDefined();
    expect(await inStorage(node.root, 'quay.io/test/unused:v1')).toBeUndefined();
  });
});
