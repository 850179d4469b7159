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

describe('compareWalkOrder', () => {
  /** The definition: component by component, each by bytes, fewer components first on a tie. */
  function byComponents(a: Buffer, b: Buffer): number {
    if (a.equals(Buffer.from('.'))) return b.equals(Buffer.from('.')) ? 0 : -1;
    if (b.equals(Buffer.from('.'))) return 1;
    const x = a.toString('latin1').split('/');
    const y = b.toString('latin1').split('/');
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const order = Buffer.compare(Buffer.from(x[i]!, 'latin1'), Buffer.from(y[i]!, 'latin1'));
      if (order !== 0) return order;
    }
    return x.length - y.length;
  }

  it('agrees with the component-by-component definition on paths made of tricky bytes', () => {
    const alphabet = ['a', 'b', '.', '-', '/', '\x01', '\x7f', '\xff', '0'];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const paths = ['.', 'a', 'a/b', 'a.b', 'a-', 'a/b/c', 'ab', '\xff'];
    while (paths.length < 400) {
      let p = '';
      for (let n = 1 + Math.floor(random() * 6); n > 0; n--) p += alphabet[Math.floor(random() * alphabet.length)];
      if (p.startsWith('/') || p.endsWith('/') || p.includes('//') || p.split('/').some((c) => c === '.' || c === '..')) continue;
      paths.push(p);
    }
    const buffers = paths.map((p) => Buffer.from(p, 'latin1'));
    for (const a of buffers) for (const b of buffers) expect(Math.sign(compareWalkOrder(a, b))).toBe(Math.sign(byComponents(a, b)));
  });
});
