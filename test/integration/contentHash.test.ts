// The threads' file hashing (src/host/contentHash.ts) on real files with holes: the hash is the
// one `sha256sum` gives, the holes are not read, and anything that keeps tar's map from being
// used (no tar, an archive it does not expect) falls back to reading the whole file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as childProcess from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeContentHasher } from '../../src/host/contentHash.js';
import { startFileHasher } from '../../src/host/fileHasher.js';
import { scanTree } from '../../src/host/treeScan.js';

const MiB = 1024 * 1024;
let dir: string;

/** A file of `size` bytes holding only `runs` (offset and bytes): the rest are holes. */
function sparseFile(name: string | Buffer, size: number, runs: Array<[number, Buffer]>): Buffer {
  const file = Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(name)]);
  const fd = fs.openSync(file, 'w');
  try {
    for (const [offset, bytes] of runs) fs.writeSync(fd, bytes, 0, bytes.length, offset);
    fs.ftruncateSync(fd, size);
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/** The independent oracle. */
function sha256sum(file: Buffer): string {
  return childProcess.execFileSync('sha256sum', ['-b'], { input: fs.readFileSync(file), maxBuffer: 512 * MiB }).toString().split(' ')[0]!;
}

const hasher = () => makeContentHasher(fs, crypto, childProcess);

/** Runs `body` with `PATH` set to `dirs` (the hasher's tar is found on PATH). */
function withPath<T>(dirs: string, body: () => T): T {
  const saved = process.env.PATH;
  process.env.PATH = dirs;
  try {
    return body();
  } finally {
    process.env.PATH = saved;
  }
}

const files: Record<string, Buffer> = {};

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'content-hash-'));
  const bytes = (n: number) => crypto.randomBytes(n);
  files.empty = sparseFile('all-hole', 64 * MiB, []);
  // Data at the start, at odd offsets inside, across a block edge, and the very last byte.
  files.scattered = sparseFile('scattered', 96 * MiB + 777, [
    [0, bytes(10_000)],
    [10 * MiB + 123, bytes(5_000)],
    [40 * MiB - 100, bytes(3 * MiB)],
    [96 * MiB + 776, bytes(1)],
  ]);
  files.holeAtEnd = sparseFile('hole-at-end', 20 * MiB, [[0, bytes(2 * MiB)]]);
  files.oddName = sparseFile(Buffer.from([0x73, 0xff, 0xfe]), 16 * MiB, [[8 * MiB, bytes(100)]]);
  files.dense = sparseFile('dense', 5 * MiB + 3, [[0, bytes(5 * MiB + 3)]]);
  files.smallHoles = sparseFile('small-holes', 3 * MiB, [[2 * MiB, bytes(10)]]);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('a file with holes', () => {
  it('hashes as sha256sum reads it, its holes unread', () => {
    for (const name of ['empty', 'scattered', 'holeAtEnd', 'oddName'] as const) {
      const { sha256, bytesRead } = hasher();
      let reported = 0;
      expect(sha256(files[name]!, (n) => (reported += n)), name).toBe(sha256sum(files[name]!));
      const size = fs.statSync(files[name]!).size;
      // The first MiB is read before the holes are looked for; then the data only.
      const data = fs.statSync(files[name]!).blocks * 512;
      expect(bytesRead(), name).toBeLessThanOrEqual(MiB + data);
      // Progress counts every byte once, holes included.
      expect(reported, name).toBe(size);
    }
  });

  it('is read whole where holes are too few to be worth a tar, or there are none', () => {
    for (const name of ['dense', 'smallHoles'] as const) {
      const { sha256, bytesRead } = hasher();
      expect(sha256(files[name]!)).toBe(sha256sum(files[name]!));
      expect(bytesRead()).toBe(fs.statSync(files[name]!).size);
    }
  });

  it('is read whole, with the same hash, without tar, with an archive tar would not write, or with a tar that hangs', () => {
    const fake = path.join(dir, 'fake-bin');
    fs.mkdirSync(fake, { recursive: true });
    const tar = path.join(fake, 'tar');
    const realTar = childProcess.execFileSync('sh', ['-c', 'command -v tar']).toString().trim();
    const sparseArchive = `${realTar} --create --file=- --sparse --sparse-version=1.0 --format=posix --dereference -- /proc/self/fd/3`;
    for (const script of [
      // Not a tar archive at all.
      'echo garbage',
      // The archive cut inside its map (the member's data starts at byte 1,536).
      `${sparseArchive} | head -c 1540`,
      // A member with no sparse records (as for a file that has filled up since).
      `exec ${realTar} --create --file=- --format=posix --dereference -- /proc/self/fd/3`,
      // Failed, after writing it all.
      `${sparseArchive}; exit 2`,
    ]) {
      fs.writeFileSync(tar, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
      const { sha256, bytesRead } = hasher();
      // A file whose archive is small: tar ends by itself, before the hasher stops it.
      expect(withPath(`${fake}:${process.env.PATH}`, () => sha256(files.oddName!)), script).toBe(sha256sum(files.oddName!));
      expect(bytesRead(), script).toBe(16 * MiB);
    }
    const { sha256, bytesRead } = hasher();
    expect(withPath(path.join(dir, 'nowhere'), () => sha256(files.empty!))).toBe(sha256sum(files.empty!));
    expect(bytesRead()).toBe(64 * MiB);
    // A tar that hangs is stopped.
    fs.writeFileSync(tar, '#!/bin/sh\nexec sleep 20\n', { mode: 0o755 });
    const impatient = makeContentHasher(fs, crypto, childProcess, 300);
    const started = Date.now();
    expect(withPath(`${fake}:${process.env.PATH}`, () => impatient.sha256(files.oddName!))).toBe(sha256sum(files.oddName!));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(impatient.bytesRead()).toBe(16 * MiB);
  });

  it('hashes the same through the hashing thread and the scan thread', async () => {
    const names = ['empty', 'scattered', 'holeAtEnd', 'oddName', 'dense'] as const;
    const expected = names.map((name) => sha256sum(files[name]!));
    const thread = startFileHasher();
    try {
      expect(await thread.hash(names.map((name) => files[name]!))).toEqual(expected);
    } finally {
      await thread.close();
    }
    const scan = scanTree(dir, ['fake-bin'], { hash: true });
    const byPath = new Map<string, string | null>();
    try {
      for (let batch = await scan.next(); batch; batch = await scan.next()) batch.rels.forEach((rel, i) => byPath.set(rel, batch!.sha256s[i]!));
    } finally {
      await scan.close();
    }
    for (const [k, name] of names.entries()) expect(byPath.get(path.basename(files[name]!.toString('latin1'))), name).toBe(expected[k]);
  });
});
