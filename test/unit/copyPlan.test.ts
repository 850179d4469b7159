// How a tree is cut for parallel copies, on made-up walks: the rules that keep the parallel copy
// identical to one cp (hard links in one process, non-UTF-8 names never passed as arguments).
import { describe, expect, it } from 'vitest';
import { CopyPlanBuilder, type CopyPlan } from '../../src/backup/copyPlan.js';

interface Entry {
  rel: string | Buffer;
  dir?: boolean;
  ino?: number;
  nlink?: number;
}

/** What a walk hands the builder: the entry's rel, whether it is a directory, a file's `dev:ino` if it has several names. */
function add(builder: CopyPlanBuilder, { rel, dir = false, ino = 0, nlink = 1 }: Entry): void {
  builder.add(Buffer.isBuffer(rel) ? rel : Buffer.from(rel), dir, !dir && nlink > 1 ? `1:${ino}` : undefined);
}

function plan(entries: Entry[], unitEntries: number, jobEntries = 1000): CopyPlan {
  const builder = new CopyPlanBuilder(unitEntries, jobEntries);
  add(builder, { rel: '.', dir: true });
  for (const entry of entries) add(builder, entry);
  return builder.finish();
}

/** A directory `name` holding `files` files f0, f1, ... */
function dirOf(name: string, files: number): Entry[] {
  return [{ rel: name, dir: true }, ...Array.from({ length: files }, (_, i) => ({ rel: `${name}/f${i}` }))];
}

const units = (p: CopyPlan) => (p.kind === 'split' ? p.jobs.flat() : []);

describe('CopyPlanBuilder', () => {
  it('copies a tree no bigger than a unit with one cp', () => {
    expect(plan(dirOf('a', 3), 10)).toEqual({ kind: 'whole' });
  });

  it('splits big directories, keeps small subtrees whole, and lists parents before children', () => {
    const p = plan([...dirOf('a', 2), { rel: 'big', dir: true }, ...dirOf('big/x', 3), ...dirOf('big/y', 3), { rel: 'big/z' }, { rel: 'top' }], 5);
    expect(p.kind).toBe('split');
    if (p.kind !== 'split') return;
    expect(p.dirs).toEqual(['.', 'big']);
    expect(units(p)).toEqual(['a', 'big/x', 'big/y', 'big/z', 'top']);
  });

  it('cuts the units into jobs of about jobEntries, in walk order', () => {
    const p = plan(Array.from({ length: 6 }, (_, i) => dirOf(`d${i}`, 2)).flat(), 4, 6);
    expect(p.kind === 'split' && p.jobs).toEqual([['d0', 'd1'], ['d2', 'd3'], ['d4', 'd5']]);
  });

  it('puts units joined by a hard link into the same job, however far apart', () => {
    const entries = [
      { rel: 'a', dir: true }, { rel: 'a/link', ino: 7, nlink: 2 },
      ...dirOf('b', 2), ...dirOf('c', 2), ...dirOf('d', 2),
      { rel: 'e', dir: true }, { rel: 'e/link', ino: 7, nlink: 2 },
    ];
    const p = plan(entries, 3, 3);
    expect(p.kind).toBe('split');
    if (p.kind !== 'split') return;
    const jobOf = (unit: string) => p.jobs.findIndex((job) => job.includes(unit));
    expect(jobOf('a')).toBe(jobOf('e'));
    expect(units(p).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('never splits the parent of a non-UTF-8 name, and copies whole when that parent is too big', () => {
    const odd = Buffer.concat([Buffer.from('w/'), Buffer.from([0x6e, 0xff])]);
    const small = plan([{ rel: 'w', dir: true }, { rel: odd }, ...dirOf('x', 3), ...dirOf('y', 3)], 4);
    expect(small.kind === 'split' && units(small)).toEqual(['w', 'x', 'y']);
    const big = plan([{ rel: 'w', dir: true }, { rel: odd }, ...dirOf('w/z', 6), ...dirOf('y', 3)], 4);
    expect(big).toEqual({ kind: 'whole' });
  });

  it('keeps a directory of many files whole (no argument per file), unless a directory below it was split', () => {
    const volumes = plan([...dirOf('v1', 300), ...dirOf('v2', 300)], 100);
    expect(volumes.kind === 'split' && units(volumes)).toEqual(['v1', 'v2']);
    const mixed = plan([{ rel: 'm', dir: true }, ...dirOf('m/big', 150), ...dirOf('m/small', 2), ...Array.from({ length: 300 }, (_, i) => ({ rel: `m/f${i}` })), ...dirOf('n', 2)], 100);
    expect(mixed.kind).toBe('split');
    if (mixed.kind !== 'split') return;
    expect(mixed.dirs).toEqual(['.', 'm', 'm/big']);
    expect(units(mixed)).toHaveLength(150 + 1 + 300 + 1);
  });

  it('copies a tree whose root is not a directory with one cp', () => {
    const builder = new CopyPlanBuilder(1);
    add(builder, { rel: '.' });
    expect(builder.finish()).toEqual({ kind: 'whole' });
  });
});
