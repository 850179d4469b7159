// The kubelet's client and server certificates. A restore brings back the old ones: once they have
// expired the kubelet cannot talk to the API server, and the node only comes back after someone
// approves its new certificate signing requests. Lifecycle Agent warns about exactly this.
import { X509Certificate } from 'node:crypto';
import type { Host } from '../host/ports.js';
import { errorMessage } from '../core/errors.js';
import { resolveNodePath } from '../host/resolveNodePath.js';
import type { CertificateRecord } from './schema.js';

export const KUBELET_CERTIFICATES = [
  { name: 'kubelet-client', path: '/var/lib/kubelet/pki/kubelet-client-current.pem' },
  { name: 'kubelet-server', path: '/var/lib/kubelet/pki/kubelet-server-current.pem' },
] as const;

export const DEFAULT_CERT_WARN_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Reads both certificates under the node root; one that cannot be read is recorded with why. */
export async function readKubeletCertificates(host: Host): Promise<CertificateRecord[]> {
  const records: CertificateRecord[] = [];
  for (const cert of KUBELET_CERTIFICATES) {
    try {
      // The -current.pem names are symlinks: followed inside the node root.
      const pem = await host.fs.readFile(await resolveNodePath(host, cert.path));
      const x509 = new X509Certificate(firstCertificate(pem));
      records.push({ name: cert.name, path: cert.path, subject: x509.subject.replace(/\n/g, ', '), notBefore: iso(x509.validFrom), notAfter: iso(x509.validTo) });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      records.push({ name: cert.name, path: cert.path, error: code === 'ENOENT' ? 'missing' : `not a readable certificate (${errorMessage(error)})` });
    }
  }
  return records;
}

/** The node name in the kubelet client certificate: its subject is CN=system:node:<name>. */
export function nodeNameFromCertificates(records: CertificateRecord[]): string | undefined {
  const subject = records.find((r) => r.name === 'kubelet-client')?.subject;
  return subject?.match(/CN=system:node:([^,\s]+)/)?.[1];
}

/**
 * One warning per certificate that has expired, or will within `windowDays` of `now`, naming the
 * date and what the operator will have to do after a restore.
 */
export function certificateWarnings(records: CertificateRecord[], now: Date, windowDays: number): string[] {
  const warnings: string[] = [];
  for (const record of records) {
    if (!record.notAfter) continue;
    const expires = new Date(record.notAfter);
    const days = Math.floor((expires.getTime() - now.getTime()) / DAY_MS);
    if (expires.getTime() <= now.getTime()) {
      warnings.push(`the backed-up ${record.name} certificate expired on ${record.notAfter}: after a restore the kubelet cannot join until its new CSRs are approved (oc get csr; oc adm certificate approve <name>)`);
    } else if (days < windowDays) {
      warnings.push(`the backed-up ${record.name} certificate expires on ${record.notAfter} (in ${days} day(s)): a restore after that date needs its new CSRs approved (oc get csr; oc adm certificate approve <name>)`);
    }
  }
  return warnings;
}

/** Whether any certificate has expired at `now`: the restore will need CSRs approved. */
export function anyExpired(records: CertificateRecord[], now: Date): boolean {
  return records.some((r) => r.notAfter !== undefined && new Date(r.notAfter).getTime() <= now.getTime());
}

/** kubelet-*-current.pem holds the certificate then its key: X509Certificate takes the first block. */
function firstCertificate(pem: Buffer): Buffer {
  const text = pem.toString('latin1');
  const match = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/);
  if (!match) throw new Error('no PEM certificate in it');
  return Buffer.from(match[0], 'latin1');
}

function iso(openssl: string): string {
  const date = new Date(openssl);
  return Number.isNaN(date.getTime()) ? openssl : date.toISOString();
}
