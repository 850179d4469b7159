import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Trash } from '../../scripts/bench/trash.js';

describe('the bench trash', () => {
  it('moves a previous copy aside instead of deleting it, takes a missing one, and deletes everything at the end', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'bench-trash-'));
    try {
      const copy = path.join(work, 'copy');
      mkdirSync(copy);
      writeFileSync(path.join(copy, 'file'), 'x');
      const trash = new Trash(path.join(work, 'trash'), () => undefined);
      await trash.discard(copy);
      expect(existsSync(copy)).toBe(false);
      expect(readdirSync(path.join(work, 'trash', '1'))).toEqual(['file']);
      await trash.discard(copy); // already gone: nothing to do
      mkdirSync(copy);
      await trash.discard(copy);
      expect(readdirSync(path.join(work, 'trash')).sort()).toEqual(['1', '3']);
      await trash.empty();
      expect(existsSync(path.join(work, 'trash'))).toBe(false);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
