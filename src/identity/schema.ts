// identity.json: what a backup belongs to (node, cluster, OpenShift version, the pinned OS
// deployment, the kubelet's certificates) and how the cluster was when it was taken. Written into
// the generation and listed in backup.json's files (so verify checks its SHA-256); a backup
// without it (older, or from the old script) still restores, unchecked.
import { z } from 'zod';

export const IDENTITY_FORMAT = 'upgrade-recovery/identity';
export const IDENTITY_FILE = 'identity.json';

const part = z.object({ name: z.string(), ok: z.boolean(), detail: z.string().optional() });

export const healthRecordSchema = z.object({
  checkedAt: z.string(),
  /** unreachable: the API did not answer, nothing is known about the cluster. */
  state: z.enum(['healthy', 'degraded', 'unreachable']),
  version: z.string().optional(),
  apiError: z.string().optional(),
  problems: z.array(z.string()),
  nodes: z.array(part),
  operators: z.array(part),
  pools: z.array(part),
  /** Taken anyway with --force while the cluster was degraded. */
  forced: z.boolean().optional(),
});
export type HealthRecord = z.infer<typeof healthRecordSchema>;

/** A fact read from somewhere, or why it could not be; `source` says where it came from. */
const fact = z.object({ value: z.string().optional(), source: z.string(), reason: z.string().optional() });
export type Fact = z.infer<typeof fact>;

export const certificateRecordSchema = z.object({
  name: z.enum(['kubelet-client', 'kubelet-server']),
  /** The node path (`.../kubelet-client-current.pem`). */
  path: z.string(),
  subject: z.string().optional(),
  notBefore: z.string().optional(),
  notAfter: z.string().optional(),
  /** Why the certificate could not be read. */
  error: z.string().optional(),
});
export type CertificateRecord = z.infer<typeof certificateRecordSchema>;

export const identityRecordSchema = z.object({
  format: z.literal(IDENTITY_FORMAT),
  version: z.literal(1),
  nodeName: fact,
  clusterId: fact,
  openshiftVersion: fact,
  deployment: z.object({ osname: z.string(), checksum: z.string(), serial: z.number().int(), version: z.string().optional() }),
  certificates: z.array(certificateRecordSchema),
  toolVersion: z.string(),
  health: healthRecordSchema,
});
export type IdentityRecord = z.infer<typeof identityRecordSchema>;
