// saveImages on a real containers-storage holding an image pulled with compressed layers (as from
// a registry): skopeo gives it back with the same ID but another manifest digest, and the backup
// says so once; a container whose image storage lacks is a warning, not a failure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { saveImages } from '../../src/images/backupImages.js';
import { checkOciLayout } from '../../src/images/ociLayout.js';
import { RecordingReporter } from '../../src/core/reporter.js';
import { realHost } from '../../src/host/real.js';
import { buildOciImage, loadIntoStorage, writeStorageConf, type BuiltImage } from '../support/ociImage.js';

const BIN = path.resolve(import.meta.dirname, '../../fixtures/standins/bin');

describe('saving an image pulled with compressed layers', () => {
  let work: string;
  let root: string;
  let pulled: BuiltImage;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'ur-images-'));
    root = path.join(work, 'node');
    writeStorageConf(root);
    pulled = await buildOciImage(path.join(work, 'pulled'), [{ 'usr/bin/etcd': 'etcd' }, { 'etc/etcd.conf': 'x' }], { gzip: true });
    await loadIntoStorage(root, pulled.layout, `quay.io/openshift-release-dev/ocp-v4.0-art-dev@${pulled.manifestDigest}`);
    const state = path.join(work, 'state');
    mkdirSync(state);
    writeFileSync(path.join(state, 'container-images.json'), JSON.stringify({ etcd: `quay.io/openshift-release-dev/ocp-v4.0-art-dev@${pulled.manifestDigest}` }));
    for (const [key, value] of Object.entries({ PATH: `${BIN}:${process.env.PATH}`, STANDIN_STATE: state, STANDIN_NODE_ROOT: root })) {
      saved[key] = process.env[key];
      process.env[key] = value;
    }
  });
  afterAll(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('keeps the ID, records the new manifest digest, warns once, and warns about containers whose image is not in storage', async () => {
    const host = realHost(root);
    const reporter = new RecordingReporter();
    const generation = path.join(work, 'generation');
    mkdirSync(generation);
    const { record } = await saveImages(host, reporter, generation, { include: [], exclude: [] });
    expect(record.count).toBe(1);
    const check = await checkOciLayout(host, path.join(generation, 'images', pulled.id), true);
    expect(check.problems).toEqual([]);
    expect(check.configDigest).toBe(`sha256:${pulled.id}`);
    expect(check.manifestDigest).not.toBe(pulled.manifestDigest);
    const warnings = reporter.warnings();
    expect(warnings.filter((w) => w.includes('new manifest digest'))).toHaveLength(1);
    // The four other control-plane containers run made-up images that storage does not hold.
    expect(warnings.filter((w) => w.includes('which crictl images does not list'))).toHaveLength(4);
  });
});
