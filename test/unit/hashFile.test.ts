import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execaSync } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { hashFile } from '../../src/tree/hashFile.js';
import { realFs } from '../../src/host/real.js';

describe('hashFile', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Around the one-read size (1 MiB), where the one-shot hash gives way to the streaming one.
  it.each([0, 1, 1024 * 1024 - 1, 1024 * 1024, 1024 * 1024 + 1, 3.5 * 1024 * 1024])('agrees with sha256sum on %i bytes, counting every byte', async (size) => {
    const file = path.join(dir, `f${size}`);
    writeFileSync(file, randomBytes(size));
    let counted = 0;
    const ours = await hashFile(realFs, file, (n) => (counted += n));
    expect(ours).toBe(execaSync('sha256sum', [file]).stdout.split(' ')[0]);
    expect(counted).toBe(size);
  });
});
