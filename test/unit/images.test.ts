// Which images a backup saves (containers' references resolved and deduplicated by image ID,
// include/exclude globs), how storage.conf is read, and the names an image is loaded under.
import { describe, expect, it } from 'vitest';
import { filterImages, globToRegExp, imagesInUse, type NodeImage } from '../../src/images/select.js';
import { parseStorageConf, STORAGE_DEFAULTS } from '../../src/images/storage.js';
import { loadTargets } from '../../src/images/restoreImages.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);
const images = {
  images: [
    { id: A, repoTags: ['quay.io/openshift/etcd:4.14'], repoDigests: [`quay.io/openshift/etcd@sha256:${'1'.repeat(64)}`], size: '1000' },
    { id: `sha256:${B}`, repoTags: [], repoDigests: [`quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'2'.repeat(64)}`], size: 2000 },
    { id: C, repoTags: ['registry.local/unused:v1'], repoDigests: [], size: '3000' },
  ],
};
const container = (name: string, image: string, imageRef = image) => ({ id: name, metadata: { name }, image: { image }, imageRef });

describe('imagesInUse', () => {
  it('finds each container image by ID, tag, digest or ID prefix, once per image ID, and never an unused one', () => {
    const { used, unknown } = imagesInUse(
      {
        containers: [
          container('etcd', A),
          container('etcd-2', 'quay.io/openshift/etcd:4.14'),
          container('op', `sha256:${B}`),
          container('op-2', 'whatever', `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'2'.repeat(64)}`),
          container('short', A.slice(0, 13)),
          container('gone', 'quay.io/gone/image:v9'),
        ],
      },
      images,
    );
    expect(used.map((i) => i.id)).toEqual([A, B]);
    expect(used[1]).toMatchObject({ repoTags: [], size: 2000 });
    expect(unknown).toEqual(['quay.io/gone/image:v9']);
  });

  it('takes null lists (crictl on an empty node) as empty', () => {
    expect(imagesInUse({ containers: null }, { images: null })).toEqual({ used: [], unknown: [] });
  });
});

describe('include and exclude patterns', () => {
  const all: NodeImage[] = imagesInUse({ containers: [container('1', A), container('2', B), container('3', C)] }, images).used;

  it('are globs over a whole name: * any run of characters, ? one, the rest literal', () => {
    expect(globToRegExp('quay.io/openshift/*').test('quay.io/openshift/etcd:4.14')).toBe(true);
    expect(globToRegExp('quay.io/*').test('quay.io/a/b@sha256:00')).toBe(true);
    expect(globToRegExp('*:4.1?').test('quay.io/openshift/etcd:4.14')).toBe(true);
    expect(globToRegExp('quay.io/openshift').test('quay.io/openshift/etcd:4.14')).toBe(false);
    expect(globToRegExp('quay.io').test('quayXio')).toBe(false);
    expect(globToRegExp('a+b(c)').test('a+b(c)')).toBe(true);
  });

  it('keep what matches an include (all without one) and no exclude, trying tags, digests and the ID', () => {
    expect(filterImages(all, [], []).kept.map((i) => i.id)).toEqual([A, B, C]);
    expect(filterImages(all, ['quay.io/*'], []).kept.map((i) => i.id)).toEqual([A, B]);
    expect(filterImages(all, [], ['*ocp-v4.0-art-dev@*']).kept.map((i) => i.id)).toEqual([A, C]);
    expect(filterImages(all, ['quay.io/*'], ['*etcd*']).kept.map((i) => i.id)).toEqual([B]);
    expect(filterImages(all, [`${C.slice(0, 10)}*`], []).kept.map((i) => i.id)).toEqual([C]);
    expect(filterImages(all, ['nothing'], []).leftOut).toHaveLength(3);
  });
});

describe('storage.conf', () => {
  it('gives the [storage] driver and paths, with the defaults of containers-storage for what it does not say', () => {
    const text = `# comment\n[storage]\ndriver = "overlay"\nrunroot = '/run/x'\n\n[storage.options]\ngraphroot = "/not/this"\n[storage.options.overlay]\nmountopt = "nodev"\n`;
    expect(parseStorageConf(text)).toEqual({ driver: 'overlay', graphroot: STORAGE_DEFAULTS.graphroot, runroot: '/run/x' });
    expect(parseStorageConf('')).toEqual(STORAGE_DEFAULTS);
    expect(parseStorageConf('[storage]\n  driver = ""\n  graphroot = "/var/lib/c"\n').driver).toBe('');
  });
});

describe('loadTargets', () => {
  const saved = { id: A, names: ['quay.io/a/b:v1'], repoDigests: [`quay.io/a/b@sha256:${'1'.repeat(64)}`], manifestDigest: `sha256:${'1'.repeat(64)}`, configDigest: `sha256:${A}`, dir: `images/${A}`, bytes: 1, blobs: 3 };

  it('loads an image under its tags, its digest names when the saved manifest kept that digest, else its ID', () => {
    expect(loadTargets(saved)).toEqual(['quay.io/a/b:v1', `quay.io/a/b@sha256:${'1'.repeat(64)}`]);
    expect(loadTargets({ ...saved, manifestDigest: `sha256:${'9'.repeat(64)}` })).toEqual(['quay.io/a/b:v1']);
    expect(loadTargets({ ...saved, names: [], manifestDigest: `sha256:${'9'.repeat(64)}` })).toEqual([`@${A}`]);
  });
});
