// Files hashed in another thread (src/host/fileHasher.ts) hash as in this one (src/tree/hashFile.ts):
// empty, around the one-read size, big, names of any bytes; a missing file is an error naming it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hashThreadsStarted, releaseSpareHasher, SPARE_IDLE_MS, startFileHasher } from '../../src/host/fileHasher.js';
import { realFs, realHost } from '../../src/host/real.js';
import { describeTree } from '../../src/tree/describe.js';
import { runImporting } from '../support/moduleProcess.js';
import { hashFile } from '../../src/tree/hashFile.js';

const MiB = 1024 * 1024;
let dir: string;
const files: Buffer[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'file-hasher-'));
  for (const size of [0, 1, MiB - 1, MiB, MiB + 1, 70 * MiB]) {
    const file = Buffer.from(path.join(dir, `f${size}`));
    writeFileSync(file, randomBytes(size));
    files.push(file);
  }
  const odd = Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0x6e, 0xff, 0xfe])]);
  writeFileSync(odd, 'odd name');
  files.push(odd);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('files hashed in another thread', () => {
  it('give the hashes of the hashing in this thread, in order, with progress on big ones', async () => {
    const hasher = startFileHasher();
    try {
      let bytes = 0;
      const hashes = await hasher.hash(files, (n) => (bytes += n));
      const expected = [];
      for (const file of files) expected.push(await hashFile(realFs, file));
      expect(hashes).toEqual(expected);
      expect(bytes).toBeGreaterThanOrEqual(64 * MiB);
      // Several requests at once are answered each with its own.
      const [a, b] = await Promise.all([hasher.hash([files[1]!]), hasher.hash([files[0]!, files[6]!])]);
      expect(a).toEqual([expected[1]]);
      expect(b).toEqual([expected[0], expected[6]]);
    } finally {
      await hasher.close();
    }
  });

  it('name a file that is not there, and refuse once closed', async () => {
    const hasher = startFileHasher();
    const missing = path.join(dir, 'missing');
    await expect(hasher.hash([files[1]!, missing])).rejects.toMatchObject({ code: 'ENOENT', path: missing });
    await hasher.close();
    await expect(hasher.hash([files[1]!])).rejects.toThrow(/closed/);
  });

  it('hand their thread, idle and sound, to the next hasher: one spare, never more', async () => {
    const expected = await hashFile(realFs, files[1]!);
    const first = startFileHasher();
    await first.hash([files[1]!]);
    await first.close();
    const before = hashThreadsStarted();
    // A file that is not there fails its request, not the thread.
    const second = startFileHasher();
    await expect(second.hash([path.join(dir, 'missing')])).rejects.toMatchObject({ code: 'ENOENT' });
    await second.close();
    const third = startFileHasher();
    expect(await third.hash([files[1]!])).toEqual([expected]);
    expect(hashThreadsStarted()).toBe(before);
    // Two at once: the spare and a new thread; closed, one is kept and one ends.
    const fourth = startFileHasher();
    expect(await fourth.hash([files[1]!])).toEqual([expected]);
    expect(hashThreadsStarted()).toBe(before + 1);
    await third.close();
    await fourth.close();
    await expect(fourth.hash([files[1]!])).rejects.toThrow(/closed/);
    const fifth = startFileHasher();
    const sixth = startFileHasher();
    expect(await Promise.all([fifth.hash([files[1]!]), sixth.hash([files[1]!])])).toEqual([[expected], [expected]]);
    expect(hashThreadsStarted()).toBe(before + 2);
    await fifth.close();
    await sixth.close();
  });

  /** Leaves an idle spare thread, runs `between`, and says whether the next hasher started a thread of its own. */
  async function nextHasherStartsThread(between: () => Promise<unknown>): Promise<boolean> {
    const first = startFileHasher();
    await first.hash([files[1]!]);
    await first.close();
    const before = hashThreadsStarted();
    await between();
    const next = startFileHasher();
    expect(await next.hash([files[1]!])).toEqual([await hashFile(realFs, files[1]!)]);
    await next.close();
    return hashThreadsStarted() === before + 1;
  }

  it('end the spare thread when asked, or once it has waited SPARE_IDLE_MS, and not before', async () => {
    expect(await nextHasherStartsThread(async () => undefined)).toBe(false);
    // Asked twice: the second time there is none left, and nothing to do.
    expect(await nextHasherStartsThread(async () => (await releaseSpareHasher(), await releaseSpareHasher()))).toBe(true);
    expect(await nextHasherStartsThread(() => new Promise((resolve) => setTimeout(resolve, SPARE_IDLE_MS + 300)))).toBe(true);
  });

  it('are hashed in this thread for a tree too big for another one, with the spare ended first', async () => {
    const host = realHost('/');
    const describe = async (hashHere: boolean) => {
      const out = [];
      for await (const { description } of describeTree(host, dir, { hash: true, hashHere })) out.push(description);
      return out;
    };
    const inThread = await describe(false); // leaves its thread as the spare
    const before = hashThreadsStarted();
    const here = await describe(true);
    expect(here).toEqual(inThread);
    expect(here.filter((d) => d.type === 'file').every((d) => /^[0-9a-f]{64}$/.test(d.sha256!))).toBe(true);
    // No thread was started, and the spare is gone: the next hasher starts one.
    expect(hashThreadsStarted()).toBe(before);
    const next = startFileHasher();
    await next.hash([files[1]!]);
    expect(hashThreadsStarted()).toBe(before + 1);
    await next.close();
  });

  it('let the process end with a spare thread idle', async () => {
    // It must end by itself, promptly.
    const run = await runImporting(
      'host/fileHasher',
      'startFileHasher',
      `const hasher = startFileHasher(); await hasher.hash([${JSON.stringify(files[1]!.toString())}]); await hasher.close(); console.log('closed');`,
    );
    expect(run).toEqual({ exitCode: 0, stdout: 'closed\n', stderr: '' });
  });
});
