import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareWalkOrder, walkTree } from '../../src/tree/walk.js';
import { realFs } from '../../src/host/real.js';

const dir = mkdtempSync(path.join(tmpdir(), 'walk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('walkTree and compareWalkOrder', () => {
  it('walk in the same order, which is not plain byte order of whole paths', async () => {
    for (const d of ['a', 'a/b', 'a.b', 'z']) mkdirSync(path.join(dir, d), { recursive: true });
    for (const f of ['a/b/c', 'a.b/x', 'a-', 'z/1']) writeFileSync(path.join(dir, f), f);
    writeFileSync(Buffer.from(`${dir}/\xff-not-utf8`, 'latin1'), 'x');
    const seen: Buffer[] = [];
    for await (const entry of walkTree(realFs, dir)) seen.push(entry.rel);
    const asText = seen.map((b) => b.toString('latin1'));
    expect(asText).toEqual(['.', 'a', 'a/b', 'a/b/c', 'a-', 'a.b', 'a.b/x', 'z', 'z/1', '\xff-not-utf8']);
    const sorted = [...seen].sort(compareWalkOrder);
    expect(sorted.map((b) => b.toString('latin1'))).toEqual(asText);
  });
});
