import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execaSync } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { parseGetfattrDump, readXattrs, type Xattrs } from '../../src/tree/xattrs.js';
import { realFs } from '../../src/host/real.js';
import { processRunner } from '../../src/host/processRunner.js';

const parse = (dump: string, names: string[]) => {
  const result: Xattrs[] = names.map(() => ({}));
  parseGetfattrDump(dump, (name) => (names.includes(name) ? names.indexOf(name) : undefined), result);
  return result;
};

describe('parseGetfattrDump', () => {
  it('maps each block back to its file and decodes every encoding', () => {
    const dump = [
      '# file: /proc/self/fd/3',
      'security.selinux=0sc3lzdGVtX3U6b2JqZWN0X3I6ZXRjX3Q6czAA',
      'user.hex=0x6869',
      '',
      '# file: /etc/a b=c',
      'user.empty=""',
      '',
    ].join('\n');
    expect(parse(dump, ['/proc/self/fd/3', '/etc/none', '/etc/a b=c'])).toEqual([
      { 'security.selinux': 'c3lzdGVtX3U6b2JqZWN0X3I6ZXRjX3Q6czAA', 'user.hex': Buffer.from('hi').toString('base64') },
      {},
      { 'user.empty': '' },
    ]);
  });

  it('fails on output it does not understand instead of dropping attributes', () => {
    expect(() => parse('# file: /somewhere/else\nuser.a=0sYQ==\n', ['/etc/x'])).toThrow(/unexpected getfattr output/);
    expect(() => parse('# file: /etc/x\nnonsense\n', ['/etc/x'])).toThrow(/unexpected getfattr output/);
  });
});

// Real files: plain names go to getfattr as paths, the others as descriptors, in one call each.
describe('readXattrs on a real directory', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'xattrs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every name, whatever its bytes, and a symlink\'s own attributes', async () => {
    const names = ['plain', 'a b=c', 'back\\slash', 'new\nline', 'é-utf8', Buffer.from([0x66, 0xff, 0x80]), 'none', 'link'];
    const abs = names.map((n) => Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(n as string | Buffer)]));
    mkdirSync(path.join(dir, 'sub'));
    for (const file of abs.slice(0, -1)) writeFileSync(file, 'x');
    symlinkSync('plain', abs.at(-1)!);
    // Labelled with one setfattr --restore of a dump (names escaped as getfattr prints them);
    // trusted.*, because the kernel refuses user.* on a symlink.
    const escaped = (b: Buffer) => [...b].map((c) => (c < 0x21 || c > 0x7e || c === 0x5c || c === 0x3d ? `\\${c.toString(8).padStart(3, '0')}` : String.fromCharCode(c))).join('');
    const dump = abs
      .map((file, i) => (i === 6 ? '' : `# file: ${escaped(file)}\ntrusted.n="${i}"\n`))
      .join('\n');
    writeFileSync(path.join(dir, '.dump'), dump);
    execaSync('setfattr', ['-h', `--restore=${path.join(dir, '.dump')}`]);
    const xattrs = await readXattrs(realFs, processRunner, abs);
    expect(xattrs.map((x) => x['trusted.n'] && Buffer.from(x['trusted.n'], 'base64').toString())).toEqual(['0', '1', '2', '3', '4', '5', undefined, '7']);
  });
});
