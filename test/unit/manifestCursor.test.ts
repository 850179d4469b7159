// The manifest read on demand (src/manifest/manifestCursor.ts): in order, ahead of the merge when
// asked, to several waiting callers at once, stopped early without a hang, and a damaged manifest
// an error, never a shorter list.
import { describe, expect, it } from 'vitest';
import { ManifestCursor } from '../../src/manifest/manifestCursor.js';
import { ManifestWriter } from '../../src/manifest/writer.js';
import { memHost } from '../support/memHost.js';

const COUNT = 3000;
const name = (i: number) => `f${String(i).padStart(5, '0')}`;

async function sample() {
  const { host } = memHost({ '/m/.keep': '' });
  const writer = await ManifestWriter.create(host.fs, '/m/etc.jsonl', 'etc', new Date('2026-11-25T00:00:00Z'));
  for (let i = 0; i < COUNT; i++) {
    await writer.add({ path: name(i), type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtimeNs: '1', copyIdentity: `66:${i}:1700000000000000000` });
  }
  await writer.close();
  return host;
}

describe('manifest cursor', () => {
  it('hands out every entry in order, with its path decoded, and then undefined', async () => {
    const cursor = new ManifestCursor((await sample()).fs, '/m/etc.jsonl');
    const seen: string[] = [];
    for (let next = await cursor.take(); next; next = await cursor.take()) seen.push(next.rel.toString());
    expect(seen).toEqual(Array.from({ length: COUNT }, (_, i) => name(i)));
    expect(cursor.taken).toBe(COUNT);
  });

  it('reads ahead on demand, and serves two callers waiting at once', async () => {
    const cursor = new ManifestCursor((await sample()).fs, '/m/etc.jsonl');
    const [far, near] = await Promise.all([cursor.at(2500), cursor.at(2000)]);
    expect(far?.entry.copyIdentity).toBe('66:2500:1700000000000000000');
    expect(near?.rel.toString()).toBe(name(2000));
    expect(cursor.peek(2400)).toBe(await cursor.at(2400));
    expect(cursor.peek(COUNT - 1)).toBeUndefined();
    expect(await cursor.at(COUNT)).toBeUndefined();
    for (let i = 0; i < COUNT; i++) expect((await cursor.take())?.rel.toString()).toBe(name(i));
    expect(await cursor.take()).toBeUndefined();
    await expect(cursor.at(0)).rejects.toThrow(/already taken/);
  });

  it('stops reading when closed early', async () => {
    const cursor = new ManifestCursor((await sample()).fs, '/m/etc.jsonl');
    await cursor.take();
    await cursor.close();
  });

  it('throws for a damaged line, even after the entries before it were handed out', async () => {
    const host = await sample();
    const text = String(await host.fs.readFile('/m/etc.jsonl', 'utf8')).replace('"copyIdentity":"66:2000:', '"copyIdentity":"66:x:');
    await host.fs.writeFile('/m/etc.jsonl', text);
    const cursor = new ManifestCursor(host.fs, '/m/etc.jsonl');
    const take = async () => {
      for (let next = await cursor.take(); next; next = await cursor.take());
    };
    await expect(take()).rejects.toThrow(/is damaged: line 2002: copyIdentity is not dev:ino:ctimeNs/);
  });

  it('throws for a missing manifest', async () => {
    const cursor = new ManifestCursor(memHost({ '/m/.keep': '' }).host.fs, '/m/none.jsonl');
    await expect(cursor.take()).rejects.toThrow(/is missing/);
  });
});
