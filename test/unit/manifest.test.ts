import { describe, expect, it } from 'vitest';
import { ManifestWriter } from '../../src/manifest/writer.js';
import { ManifestDamagedError, ManifestLines, readManifest, readManifestKeys, wholeEntry } from '../../src/manifest/reader.js';
import type { ManifestEntry, ManifestEntryKeys } from '../../src/manifest/schema.js';
import { memHost } from '../support/memHost.js';

const entries: Array<Omit<ManifestEntry, 'kind'>> = [
  { path: '.', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtimeNs: '1700000000123456789' },
  { path: 'a', type: 'file', mode: 0o4755, uid: 0, gid: 0, size: 3, mtimeNs: '1', sha256: 'a'.repeat(64), xattrs: { 'security.selinux': 'eA==' } },
  { pathB64: Buffer.from([0x6e, 0xff]).toString('base64'), type: 'hardlink', mode: 0o644, uid: 1, gid: 2, size: 3, mtimeNs: '1', linkTo: 'a' },
  { path: 'l', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 1, mtimeNs: '1', target: 'a' },
];

async function writeSample() {
  const { host } = memHost({ '/m/.keep': '' });
  const writer = await ManifestWriter.create(host.fs, '/m/etc.jsonl', 'etc', new Date('2026-11-25T00:00:00Z'));
  for (const entry of entries) await writer.add(entry);
  const totals = await writer.close();
  return { host, totals };
}

async function readAll(host: Awaited<ReturnType<typeof writeSample>>['host']) {
  const seen: ManifestEntry[] = [];
  const result = await readManifest(host.fs, '/m/etc.jsonl', (e) => void seen.push(e));
  return { seen, result };
}

describe('manifest writer and reader', () => {
  it('round-trips entries, and the footer counts them', async () => {
    const { host, totals } = await writeSample();
    expect(totals).toEqual({ entries: 4, files: 1, bytes: 3 });
    const { seen, result } = await readAll(host);
    expect(seen.map(({ kind, ...rest }) => rest)).toEqual(entries);
    expect(result.header.component).toBe('etc');
    expect(result.footer.entries).toBe(4);
  });

  it('reports a truncated manifest (no footer) as incomplete, never as a shorter list', async () => {
    const { host } = await writeSample();
    const text = String(await host.fs.readFile('/m/etc.jsonl', 'utf8'));
    await host.fs.writeFile('/m/etc.jsonl', text.split('\n').slice(0, 3).join('\n') + '\n');
    await expect(readAll(host)).rejects.toThrow(/no footer .*incomplete/);
  });

  it('reports an edited line through the digest', async () => {
    const { host } = await writeSample();
    const text = String(await host.fs.readFile('/m/etc.jsonl', 'utf8'));
    await host.fs.writeFile('/m/etc.jsonl', text.replace('"uid":1', '"uid":0'));
    await expect(readAll(host)).rejects.toThrow(/digest does not match/);
  });

  it('names the line that does not validate', async () => {
    const { host } = await writeSample();
    const text = String(await host.fs.readFile('/m/etc.jsonl', 'utf8'));
    await host.fs.writeFile('/m/etc.jsonl', text.replace('"type":"symlink"', '"type":"weird"'));
    await expect(readAll(host)).rejects.toThrow(/line 5/);
  });

  it('says plainly when the manifest is missing', async () => {
    const { host } = memHost({ '/m/.keep': '' });
    await expect(readManifest(host.fs, '/m/none.jsonl', () => undefined)).rejects.toThrow(/is missing/);
  });
});

describe('a manifest read for its keys (a restore plan), each line used further checked whole', () => {
  /** The sample with one entry changed (footer and digest made again, as a writer of that content would). */
  async function sampleWith(change: Record<string, unknown>) {
    const { host } = memHost({ '/m/.keep': '' });
    const writer = await ManifestWriter.create(host.fs, '/m/etc.jsonl', 'etc', new Date('2026-11-25T00:00:00Z'));
    for (const entry of entries) await writer.add(entry.path === 'a' ? ({ ...entry, ...change } as ManifestEntry) : entry);
    await writer.close();
    return host;
  }

  it('hands on every line as parsed, with its byte offset, which ManifestLines reads back checked whole', async () => {
    const host = await sampleWith({});
    const seen: Array<[ManifestEntryKeys, number]> = [];
    await readManifestKeys(host.fs, '/m/etc.jsonl', (e, offset) => void seen.push([e, offset]));
    expect(seen.map(([e]) => e.path ?? e.pathB64)).toEqual(['.', 'a', Buffer.from([0x6e, 0xff]).toString('base64'), 'l']);
    const lines = new ManifestLines(host.fs, '/m/etc.jsonl');
    expect(lines.at(seen[1]![1], Buffer.from('a'))).toMatchObject({ path: 'a', sha256: 'a'.repeat(64), xattrs: { 'security.selinux': 'eA==' } });
    expect(() => lines.at(seen[1]![1], Buffer.from('b'))).toThrow(/changed while the restore read it/);
    lines.close();
  });

  it('passes a line whose other fields are wrong, and wholeEntry refuses it before it is used', async () => {
    const host = await sampleWith({ mode: -1 });
    const seen: ManifestEntryKeys[] = [];
    await readManifestKeys(host.fs, '/m/etc.jsonl', (e) => void seen.push(e));
    expect(() => wholeEntry('/m/etc.jsonl', seen[1]!)).toThrow(ManifestDamagedError);
    expect(() => wholeEntry('/m/etc.jsonl', seen[1]!)).toThrow(/entry a: /);
    await expect(readManifest(host.fs, '/m/etc.jsonl', () => undefined)).rejects.toThrow(ManifestDamagedError);
  });

  it('refuses a line whose keys are wrong as it reads it', async () => {
    const host = await sampleWith({ type: 'door' });
    await expect(readManifestKeys(host.fs, '/m/etc.jsonl', () => undefined)).rejects.toThrow(/line 3: /);
  });
});
