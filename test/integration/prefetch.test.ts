// Reading ahead for `verify --data`: real `cat` processes over real files, and the rule that stops
// reading ahead once the disks gave nothing (the cache held the files).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CacheProbe, prefetchFiles } from '../../src/tree/prefetch.js';
import { processRunner } from '../../src/host/processRunner.js';
import type { CommandRunner } from '../../src/host/ports.js';

let dir: string;
const files: Buffer[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ur-prefetch-'));
  for (let i = 0; i < 100; i++) {
    const file = path.join(dir, `f${i}`);
    writeFileSync(file, `content ${i}\n`);
    files.push(Buffer.from(file));
  }
  // A name that is not UTF-8 is left to the hashing, not passed on.
  const odd = Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0x6e, 0xff])]);
  writeFileSync(odd, 'odd\n');
  files.push(odd);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prefetchFiles', () => {
  it('reads the files with cat and says how much came from the disks (none, once cached)', async () => {
    const calls: string[] = [];
    const recording: CommandRunner = {
      run: (command, args, options) => {
        calls.push(String(options?.input ?? ''));
        return processRunner.run(command, args, options);
      },
    };
    await prefetchFiles(recording, files);
    const kib = await prefetchFiles(recording, files);
    expect(kib).toBeTypeOf('number');
    expect(kib!).toBeLessThan(files.length);
    expect(calls[0]!.split('\0').filter(Boolean)).toHaveLength(100);
  });

  it('gives undefined, not an error, when the readers cannot run', async () => {
    const failing: CommandRunner = { run: async () => ({ exitCode: 127, stdout: '', stderr: 'sh: not found' }) };
    expect(await prefetchFiles(failing, files)).toBeUndefined();
  });
});

describe('CacheProbe', () => {
  it('stops reading ahead once a window came from the cache, but for every 8th window', async () => {
    const probe = new CacheProbe();
    expect(probe.mayBeCold()).toBe(true);
    await probe.measured(2000, Promise.resolve(40_000)); // read from disk: keep reading ahead
    expect(probe.mayBeCold()).toBe(true);
    await probe.measured(2000, Promise.resolve(12)); // cached
    const next = Array.from({ length: 16 }, () => probe.mayBeCold());
    expect(next.filter(Boolean)).toHaveLength(2);
    await probe.measured(2000, Promise.resolve(undefined)); // could not tell: read ahead again
    expect(probe.mayBeCold()).toBe(true);
  });
});
