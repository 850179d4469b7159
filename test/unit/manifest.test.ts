import { describe, expect, it } from 'vitest';
import { ManifestWriter } from '../../src/manifest/writer.js';
import { LinesDigest, ManifestDamagedError, ManifestLines, readManifest, readManifestKeys, wholeEntry } from '../../src/manifest/reader.js';
import { createHash } from 'node:crypto';
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

  it('checks the digest of a manifest of many chunks (read 1 MiB at a time), and finds an edit in any of them', async () => {
    const { host } = memHost({ '/m/.keep': '' });
    const writer = await ManifestWriter.create(host.fs, '/m/big.jsonl', 'etc', new Date('2026-11-25T00:00:00Z'));
    const many = 12_000; // about 3 MiB of lines: chunk boundaries fall inside lines
    await writer.add(entries[0]!);
    for (let i = 0; i < many; i++) {
      await writer.add({ path: `dir/${String(i).padStart(6, '0')}-${'x'.repeat(i % 97)}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 1, mtimeNs: String(i), sha256: 'b'.repeat(64) });
    }
    await writer.close();
    let seen = 0;
    await readManifest(host.fs, '/m/big.jsonl', () => void seen++);
    expect(seen).toBe(many + 1);
    const text = String(await host.fs.readFile('/m/big.jsonl', 'utf8'));
    for (const at of [1_048_000, 2_097_100, text.length - 300]) {
      // One byte of a path changed, as far into the file as the second and third chunks.
      const where = text.lastIndexOf('-x', at) + 1;
      await host.fs.writeFile('/m/big.jsonl', `${text.slice(0, where)}y${text.slice(where + 1)}`);
      const failure = await readManifest(host.fs, '/m/big.jsonl', () => undefined).then(() => undefined, (e: Error) => e.message);
      expect(failure).toMatch(/digest does not match/);
    }
  });

  it('hashes lines run by run, as one hash of each line and its newline would', () => {
    const lines = ['{"a":1}', '{"b":2}', '{"c":3}', 'last'];
    const expected = createHash('sha256').update(lines.map((l) => `${l}\n`).join('')).digest('hex');
    const chunk = Buffer.from(`${lines[0]}\n${lines[1]}\n`);
    const other = Buffer.from(`${lines[2]}\n${lines[3]}`);
    const digest = new LinesDigest();
    digest.add(chunk.subarray(0, 7), true);
    digest.add(chunk.subarray(8, 15), true);
    digest.flush(); // the buffer is read into again
    digest.add(other.subarray(0, 7), true);
    digest.add(other.subarray(8), false); // no newline at the end of the file
    expect(digest.hex()).toBe(expected);
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
