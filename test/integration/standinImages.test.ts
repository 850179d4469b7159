// The crictl and crio stand-ins over a real containers-storage (STANDIN_NODE_ROOT): `crictl images`
// shows what skopeo put there, `crictl ps` shows containers running those images as CRI-O names
// them, and `crio wipe -f` really empties the storage (and still refuses while crio is active).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildOciImage, GRAPHROOT, inStorage, loadIntoStorage, writeStorageConf, type BuiltImage } from '../support/ociImage.js';

const BIN = path.resolve(import.meta.dirname, '../../fixtures/standins/bin');

describe('crictl and crio stand-ins over a real containers-storage', () => {
  let work: string;
  let root: string;
  let env: Record<string, string>;
  let etcd: BuiltImage;
  let operator: BuiltImage;
  const run = async (command: string, ...args: string[]) => {
    const r = await execa(path.join(BIN, command), args, { env, reject: false });
    return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  };

  beforeAll(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'ur-standin-images-'));
    root = path.join(work, 'node');
    writeStorageConf(root);
    etcd = await buildOciImage(path.join(work, 'etcd'), [{ 'usr/bin/etcd': 'etcd 3.5' }]);
    operator = await buildOciImage(path.join(work, 'operator'), [{ 'usr/bin/op': 'op' }, { 'etc/op.conf': 'x=1' }]);
    await loadIntoStorage(root, etcd.layout, 'quay.io/test/etcd:v1');
    await loadIntoStorage(root, operator.layout, 'quay.io/test/operator:v1');
    const state = path.join(work, 'state');
    mkdirSync(state);
    writeFileSync(path.join(state, 'container-images.json'), JSON.stringify({ etcd: 'quay.io/test/etcd:v1', 'etcd-operator': `quay.io/test/operator@${operator.manifestDigest}`, 'kube-apiserver-operator': 'quay.io/test/missing:v1' }));
    env = { STANDIN_STATE: state, STANDIN_LOG: path.join(state, 'calls.log'), STANDIN_NODE_ROOT: root };
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('crictl images -o json lists the storage: IDs, tags, digest references, sizes', async () => {
    const r = await run('crictl', 'images', '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    const images = JSON.parse(r.stdout).images;
    expect(images.map((i: { id: string }) => i.id).sort()).toEqual([etcd.id, operator.id].sort());
    const op = images.find((i: { id: string }) => i.id === operator.id);
    expect(op.repoTags).toEqual(['quay.io/test/operator:v1']);
    expect(op.repoDigests).toEqual([`quay.io/test/operator@${operator.manifestDigest}`]);
    expect(Number(op.size)).toBeGreaterThan(0);
    expect((await run('crictl', 'images')).stdout).toMatch(/quay\.io\/test\/etcd\s+v1\s+[0-9a-f]{13}/);
  });

  it('crictl ps -a -o json shows each container with its image as CRI-O names it, or the name asked for when storage lacks it', async () => {
    const containers = JSON.parse((await run('crictl', 'ps', '-a', '-o', 'json')).stdout).containers;
    const byName = Object.fromEntries(containers.map((c: { metadata: { name: string } }) => [c.metadata.name, c]));
    expect(byName.etcd.image.image).toBe(etcd.id);
    expect(byName.etcd.imageRef).toBe(`quay.io/test/etcd@${etcd.manifestDigest}`);
    expect(byName['etcd-operator'].image.image).toBe(operator.id);
    expect(byName['kube-apiserver-operator'].image.image).toBe('quay.io/test/missing:v1');
    expect(byName['kube-scheduler-operator-container'].image.image).toMatch(/^quay\.io\/openshift-release-dev\/ocp-v4\.0-art-dev@sha256:/);
  });

  it('crio wipe -f refuses while crio is active, then empties the real storage', async () => {
    expect((await run('crio', 'wipe', '-f')).code).toBe(1);
    expect(await inStorage(root, 'quay.io/test/etcd:v1')).toBeDefined();
    await run('systemctl', 'stop', 'crio.service');
    const wipe = await run('crio', 'wipe', '-f');
    expect(wipe.code, wipe.stderr).toBe(0);
    expect(readdirSync(path.join(root, GRAPHROOT))).toEqual([]);
    expect(await inStorage(root, 'quay.io/test/etcd:v1')).toBeUndefined();
    await run('systemctl', 'start', 'crio.service');
    expect(JSON.parse((await run('crictl', 'images', '-o', 'json')).stdout).images).toEqual([]);
  });
});
