import { describe, expect, it } from 'vitest';
import { parseGetfattrDump } from '../../src/tree/xattrs.js';

describe('parseGetfattrDump', () => {
  it('maps /proc/self/fd/N blocks back to their files and decodes every encoding', () => {
    const dump = [
      '# file: /proc/self/fd/3',
      'security.selinux=0sc3lzdGVtX3U6b2JqZWN0X3I6ZXRjX3Q6czAA',
      'user.hex=0x6869',
      '',
      '# file: /proc/self/fd/5',
      'user.empty=""',
      '',
    ].join('\n');
    expect(parseGetfattrDump(dump, 3)).toEqual([
      { 'security.selinux': 'c3lzdGVtX3U6b2JqZWN0X3I6ZXRjX3Q6czAA', 'user.hex': Buffer.from('hi').toString('base64') },
      {},
      { 'user.empty': '' },
    ]);
  });

  it('fails on output it does not understand instead of dropping attributes', () => {
    expect(() => parseGetfattrDump('# file: /somewhere/else\nuser.a=0sYQ==\n', 1)).toThrow(/unexpected getfattr output/);
    expect(() => parseGetfattrDump('# file: /proc/self/fd/3\nnonsense\n', 1)).toThrow(/unexpected getfattr output/);
  });
});
