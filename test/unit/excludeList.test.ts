import { describe, expect, it } from 'vitest';
import { excludedEtcPaths } from '../../src/backup/excludeList.js';
import { pathsOutsideTrees } from '../../src/backup/extras.js';
import { machineConfigSchema, managedFilePaths } from '../../src/machineConfig/schema.js';

describe('excludedEtcPaths', () => {
  it('takes the second field of non-comment lines under /etc/, made relative, plus the fixed two', () => {
    const tmpfiles = [
      '# comment /etc/commented\nd /etc/kubernetes/manual 0755 root root -\nL /etc/localtime - - - - /usr/share/zoneinfo/UTC\n',
      'd /var/lib/foo 0755 root root -\n   # indented comment\n\nf /etc/pki/x 0644 - - -\n',
    ];
    expect(excludedEtcPaths(tmpfiles)).toEqual(['kubernetes/manual', 'localtime', 'pki/x', '.updated', 'kubernetes/manifests']);
  });

  it('keeps each path once', () => {
    expect(excludedEtcPaths(['d /etc/.updated\nd /etc/a\nd /etc/a\n'])).toEqual(['.updated', 'a', 'kubernetes/manifests']);
  });
});

describe('machine-config managed files', () => {
  it('keeps only the paths outside /etc, /usr/local and /var/lib/kubelet', () => {
    expect(
      pathsOutsideTrees(['/etc/a', '/usr/local/bin/b', '/var/lib/kubelet/config.json', '/var/lib/kubeletx/c', '/opt/d', '/usr/localx', '/opt/d']),
    ).toEqual(['/opt/d', '/usr/localx', '/var/lib/kubeletx/c']);
  });

  it('validates the MachineConfig shape and lets unknown fields through', () => {
    const config = machineConfigSchema.parse({
      kind: 'MachineConfig',
      metadata: { name: 'rendered-master-1' },
      spec: { config: { ignition: { version: '3.2.0' }, storage: { files: [{ path: '/etc/x', mode: 420 }] } }, osImageURL: 'x' },
    });
    expect(managedFilePaths(config)).toEqual(['/etc/x']);
    expect(managedFilePaths(machineConfigSchema.parse({ spec: { config: {} } }))).toEqual([]);
    expect(machineConfigSchema.safeParse({ spec: { config: { storage: { files: [{ path: 'relative' }] } } } }).success).toBe(false);
    expect(machineConfigSchema.safeParse({ kind: 'Pod', spec: { config: {} } }).success).toBe(false);
  });
});
