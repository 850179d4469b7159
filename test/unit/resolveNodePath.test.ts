import { describe, expect, it } from 'vitest';
import { resolveNodePath } from '../../src/host/resolveNodePath.js';
import { NodeRoot } from '../../src/host/nodeRoot.js';
import { memHost } from '../support/memHost.js';

describe('resolveNodePath', () => {
  const setup = () => {
    const { host, volume } = memHost({ '/sandbox/var/usrlocal/bin/tool': 'x', '/sandbox/usr/.keep': '', '/var/usrlocal/outside': 'host' });
    return { host: { ...host, root: new NodeRoot('/sandbox') }, volume };
  };

  it('follows a relative link, as /usr/local -> ../var/usrlocal on RHCOS', async () => {
    const { host, volume } = setup();
    volume.symlinkSync('../var/usrlocal', '/sandbox/usr/local');
    expect(await resolveNodePath(host, '/usr/local')).toBe('/sandbox/var/usrlocal');
  });

  it('keeps an absolute link inside the node root', async () => {
    const { host, volume } = setup();
    volume.symlinkSync('/var/usrlocal', '/sandbox/usr/local');
    expect(await resolveNodePath(host, '/usr/local')).toBe('/sandbox/var/usrlocal');
  });

  it('leaves plain and missing paths as they are, and stops on a loop', async () => {
    const { host, volume } = setup();
    expect(await resolveNodePath(host, '/etc')).toBe('/sandbox/etc');
    volume.symlinkSync('loop', '/sandbox/usr/loop');
    await expect(resolveNodePath(host, '/usr/loop')).rejects.toThrow('too many symbolic links');
  });
});
