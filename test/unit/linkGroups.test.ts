// The restore planner's pre-read of hard-link groups: a byte search for the lines that name a hard
// link, not a full parse, so it must find every one of them wherever chunks are cut, and the
// planner must refuse a hard link that it did not count.
import { describe, expect, it } from 'vitest';
import { ManifestWriter } from '../../src/manifest/writer.js';
import { ManifestDamagedError, readManifest, scanManifestLines } from '../../src/manifest/reader.js';
import type { ManifestEntry } from '../../src/manifest/schema.js';
import { LinkGroups, readLinkGroupSizes } from '../../src/restore/treeLinkGroups.js';
import { memHost } from '../support/memHost.js';

const file = (path: string): Omit<ManifestEntry, 'kind'> => ({
  path,
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 1,
  mtimeNs: '1',
  sha256: 'a'.repeat(64),
  // Long lines, so that the manifest spans several of the reader's 1 MiB chunks.
  xattrs: { 'security.selinux': Buffer.from('system_u:object_r:etc_t:s0'.repeat(8)).toString('base64') },
});
const link = (path: string, linkTo: string): Omit<ManifestEntry, 'kind'> => ({ ...file(path), type: 'hardlink', sha256: undefined, linkTo });

async function manifestOf(entries: Array<Omit<ManifestEntry, 'kind'>>) {
  const { host } = memHost({ '/m/.keep': '' });
  const writer = await ManifestWriter.create(host.fs, '/m/etc.jsonl', 'etc', new Date('2026-11-25T00:00:00Z'));
  for (const entry of entries) await writer.add(entry);
  await writer.close();
  return host;
}

describe('hard-link groups read ahead of a restore plan', () => {
  it('finds every hard link of a manifest of several chunks, whichever chunk cuts its line', async () => {
    const entries: Array<Omit<ManifestEntry, 'kind'>> = [];
    const expected = new Map<string, number>();
    for (let i = 0; i < 12_000; i++) {
      const name = `f${String(i).padStart(6, '0')}`;
      entries.push(file(name));
      // Every 37th file has two more names, and one file is named after the needle itself.
      if (i % 37 === 0) {
        entries.push(link(`${name}.a`, name), link(`${name}.b`, name));
        expected.set(name, 3);
      }
    }
    entries.push(file('hardlink'));
    const host = await manifestOf(entries);
    const size = (await host.fs.stat('/m/etc.jsonl')).size;
    expect(size).toBeGreaterThan(3 * 1024 * 1024);

    const sizes = await readLinkGroupSizes(host.fs, '/m/etc.jsonl');
    expect(sizes).toEqual(expected);

    let lines = 0;
    scanManifestLines(host.fs, '/m/etc.jsonl', '"hardlink"', () => lines++);
    // The hard links, and the file whose path is the needle.
    expect(lines).toBe(2 * expected.size + 1);
  });

  it('skips lines that are not JSON: the full read reports them', async () => {
    const { host } = memHost({ '/m/etc.jsonl': '{"type":"hardlink"\n{"type":"hardlink","n":1}\nplain\n' });
    const seen: unknown[] = [];
    scanManifestLines(host.fs, '/m/etc.jsonl', '"hardlink"', (value) => seen.push(value));
    expect(seen).toEqual([{ type: 'hardlink', n: 1 }]);
  });

  it('refuses a hard link the pre-read did not count (a line not spelled as the writer spells it)', () => {
    const groups = new LinkGroups(new Map([['a', 2]]), '/m/etc.jsonl');
    const recorded = { kind: 'entry', ...link('b', 'a') } as ManifestEntry;
    expect(groups.groupOf(recorded, Buffer.from('b'))).toBe('a');
    // A third name of a group counted with two.
    expect(() => groups.groupOf({ ...recorded, path: 'c' }, Buffer.from('c'))).toThrow(ManifestDamagedError);
    expect(() => groups.groupOf({ ...recorded, path: 'c' }, Buffer.from('c'))).toThrow(/hard link c was not counted/);
  });
});

describe('manifest lines longer than a read chunk', () => {
  it('reads and scans a line of more than 1 MiB, and a last line without its newline', async () => {
    const big = { ...link('big', 'f0'), xattrs: { 'user.big': 'x'.repeat(3 * 1024 * 1024) } };
    const host = await manifestOf([file('f0'), big, file('z')]);
    const seen: ManifestEntry[] = [];
    await readManifest(host.fs, '/m/etc.jsonl', (e) => void seen.push(e));
    expect(seen.map((e) => e.path)).toEqual(['f0', 'big', 'z']);
    expect(seen[1]!.xattrs!['user.big']!.length).toBe(3 * 1024 * 1024);
    expect(await readLinkGroupSizes(host.fs, '/m/etc.jsonl')).toEqual(new Map([['f0', 2]]));

    // Without the footer's newline: still whole.
    const text = String(await host.fs.readFile('/m/etc.jsonl', 'utf8'));
    await host.fs.writeFile('/m/etc.jsonl', text.replace(/\n$/, ''));
    const again: ManifestEntry[] = [];
    await readManifest(host.fs, '/m/etc.jsonl', (e) => void again.push(e));
    expect(again).toHaveLength(3);
  });
});
