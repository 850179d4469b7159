// Which node and which cluster this is, by one rule for the backup that records it and the restore
// that checks it: were the two to differ, a restore would refuse its own node's backup.
import type { Host } from '../host/ports.js';
import type { ClusterVersion } from './clusterApi.js';
import { nodeNameFromCertificates, readKubeletCertificates } from './certificates.js';
import type { CertificateRecord, Fact } from './schema.js';

/** The ClusterVersion that describes the cluster: the one named `version`, else the first. */
export function clusterVersionOf(items: readonly ClusterVersion[]): ClusterVersion | undefined {
  return items.find((v) => v.metadata.name === 'version') ?? items[0];
}

/**
 * The node's name: the API's (one node on SNO), else the kubelet client certificate's, else
 * /etc/hostname. The certificates are read only when needed, unless the caller has them.
 */
export async function nodeNameFact(host: Host, fromApi: readonly string[], certificates?: CertificateRecord[]): Promise<Fact> {
  if (fromApi.length === 1) return { value: fromApi[0]!, source: 'api' };
  const fromCert = nodeNameFromCertificates(certificates ?? (await readKubeletCertificates(host)));
  if (fromCert) return { value: fromCert, source: 'kubelet-certificate' };
  const hostname = (await host.fs.readFile(host.root.path('/etc/hostname'), 'utf8').catch(() => '')).trim();
  if (hostname) return { value: hostname, source: '/etc/hostname' };
  return { source: 'unknown', reason: 'no API, no kubelet certificate, no /etc/hostname' };
}
