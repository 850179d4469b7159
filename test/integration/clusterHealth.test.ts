// The health verdict and the certificate checks on real parts: the stand-in oc answering with the
// recorded healthy and degraded clusters, and real certificates with chosen expiry dates read
// through the host port.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { realHost } from '../../src/host/real.js';
import { checkClusterHealth, describeHealth } from '../../src/identity/health.js';
import { certificateWarnings, nodeNameFromCertificates, readKubeletCertificates } from '../../src/identity/certificates.js';
import { kubeletCertificate } from '../../scripts/sandbox/sandboxNode.js';
import { makeCertificatePem } from '../../scripts/sandbox/certificate.js';
import { X509Certificate } from 'node:crypto';

const BIN = path.resolve(import.meta.dirname, '../../fixtures/standins/bin');
const DAY = 86_400_000;

describe('cluster health from oc get -o json', () => {
  let work: string;
  let kubeconfig: string;
  const saved = { PATH: process.env.PATH, STANDIN_STATE: process.env.STANDIN_STATE, STANDIN_CLUSTER: process.env.STANDIN_CLUSTER };
  beforeAll(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'ur-health-'));
    kubeconfig = path.join(work, 'kubeconfig');
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\n');
    process.env.PATH = `${BIN}:${process.env.PATH}`;
    process.env.STANDIN_STATE = path.join(work, 'state');
  });
  afterAll(() => {
    for (const [key, value] of Object.entries(saved)) value === undefined ? delete process.env[key] : (process.env[key] = value);
    rmSync(work, { recursive: true, force: true });
  });
  const withCluster = (set: string) => (process.env.STANDIN_CLUSTER = set);

  it('a healthy cluster: every part fine, the version from the history', async () => {
    withCluster('healthy');
    const report = await checkClusterHealth(realHost('/'), kubeconfig);
    expect(report.state).toBe('healthy');
    expect(report.problems).toEqual([]);
    expect(report.version).toBe('4.14.10');
    expect(report.operators).toHaveLength(33);
    expect(report.nodes).toEqual([{ name: 'sno-1.example.lab', ok: true }]);
    expect(report.pools.map((p) => p.ok)).toEqual([true, true]);
    expect(report.clusterVersion?.spec?.clusterID).toBe('6f1c2a8e-3b7d-4e0f-9a51-2c8d7e4b9f03');
    expect(describeHealth(report)[0]).toBe('Cluster 4.14.10: healthy; node sno-1.example.lab Ready; 33/33 ClusterOperators fine; 2/2 MachineConfigPools updated');
  });

  it('a degraded cluster: each thing that is wrong, with what the cluster says about it', async () => {
    withCluster('degraded');
    const report = await checkClusterHealth(realHost('/'), kubeconfig);
    expect(report.state).toBe('degraded');
    expect(report.operators.filter((o) => !o.ok).map((o) => o.name)).toEqual(['authentication', 'ingress', 'machine-config']);
    expect(report.problems).toContain('ClusterVersion is Failing (Cluster operator machine-config is degraded)');
    expect(report.problems.some((p) => /^node sno-1\.example\.lab is not Ready: Ready=False \(container runtime network not ready/.test(p))).toBe(true);
    expect(report.problems.some((p) => p.startsWith('MachineConfigPool master: not Updated (0/1 machines); Degraded'))).toBe(true);
    expect(report.problems.some((p) => p.startsWith('ClusterOperator ingress: Available=False'))).toBe(true);
    expect(describeHealth(report)[0]).toMatch(/^Cluster 4\.14\.10: NOT healthy; node sno-1\.example\.lab NOT Ready; 30\/33 ClusterOperators fine; 1\/2 MachineConfigPools updated$/);
  });

  it('an API that does not answer is a verdict with oc\'s words, as is a kubeconfig that cannot be read', async () => {
    withCluster('unreachable');
    const down = await checkClusterHealth(realHost('/'), kubeconfig);
    expect(down.state).toBe('unreachable');
    expect(down.apiError).toMatch(/^The connection to the server api\.sno-1\.example\.lab:6443 was refused/);
    withCluster('healthy');
    const noConfig = await checkClusterHealth(realHost('/'), path.join(work, 'missing-kubeconfig'));
    expect(noConfig.state).toBe('unreachable');
    expect(noConfig.apiError).toContain('no readable kubeconfig');
  });
});

describe('kubelet certificates', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'ur-certs-'));
    mkdirSync(path.join(root, 'var/lib/kubelet/pki'), { recursive: true });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const install = (name: 'client' | 'server', pem: string) => {
    const dated = path.join(root, `var/lib/kubelet/pki/kubelet-${name}-2026-01-01-00-00-00.pem`);
    writeFileSync(dated, pem);
    rmSync(path.join(root, `var/lib/kubelet/pki/kubelet-${name}-current.pem`), { force: true });
    // Absolute, as on a node: it must be followed inside the root.
    symlinkSync(`/var/lib/kubelet/pki/kubelet-${name}-2026-01-01-00-00-00.pem`, path.join(root, `var/lib/kubelet/pki/kubelet-${name}-current.pem`));
  };

  it('reads expiry dates and the node name through the symlinks, and warns with the date', async () => {
    const now = Date.now();
    const expired = new Date(Math.floor((now - 3 * DAY) / 1000) * 1000);
    const soon = new Date(Math.floor((now + 10 * DAY + 3_600_000) / 1000) * 1000);
    install('client', kubeletCertificate(expired, 'node-a.lab'));
    install('server', kubeletCertificate(soon, 'node-a.lab'));
    const records = await readKubeletCertificates(realHost(root));
    expect(records.map((r) => [r.name, r.notAfter])).toEqual([
      ['kubelet-client', expired.toISOString()],
      ['kubelet-server', soon.toISOString()],
    ]);
    expect(nodeNameFromCertificates(records)).toBe('node-a.lab');
    const warnings = certificateWarnings(records, new Date(now), 30);
    expect(warnings[0]).toBe(`the backed-up kubelet-client certificate expired on ${expired.toISOString()}: after a restore the kubelet cannot join until its new CSRs are approved (oc get csr; oc adm certificate approve <name>)`);
    expect(warnings[1]).toContain(`kubelet-server certificate expires on ${soon.toISOString()} (in 10 day(s))`);
    expect(certificateWarnings(records, new Date(now), 5)).toHaveLength(1);
  });

  it('a file that is not a certificate, or none, is recorded with why', async () => {
    install('client', '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
    rmSync(path.join(root, 'var/lib/kubelet/pki/kubelet-server-current.pem'));
    const records = await readKubeletCertificates(realHost(root));
    expect(records[0]!.error).toMatch(/^not a readable certificate/);
    expect(records[1]!.error).toBe('missing');
    expect(certificateWarnings(records, new Date(), 30)).toEqual([]);
  });
});

describe('the sandbox certificate maker', () => {
  const spec = (serial?: Buffer) => ({ subject: [['CN', 'system:node:x']] as Array<['CN', string]>, notBefore: new Date('2026-01-01'), notAfter: new Date('2027-01-01'), ...(serial ? { serial } : {}) });
  const parsed = (pem: string) => new X509Certificate(pem.slice(0, pem.indexOf('-----END CERTIFICATE-----') + 25));

  it('makes a certificate OpenSSL reads whatever the serial bytes (a leading zero byte would be DER padding)', () => {
    for (const first of [0x00, 0x7f, 0x80, 0xff]) {
      const serial = Buffer.from([first, 0x1f, 1, 2, 3, 4, 5, 6]);
      expect(parsed(makeCertificatePem(spec(serial))).subject).toBe('CN=system:node:x');
    }
    for (let i = 0; i < 200; i++) expect(() => parsed(makeCertificatePem(spec()))).not.toThrow();
  });
});
