// Parses what ostree and rpm-ostree say about the deployments. Pure: tested against recorded outputs.
import { z } from 'zod';

export interface Deployment {
  /** Position in the status list: the index `ostree admin pin/undeploy` take. */
  index: number;
  osname: string;
  checksum: string;
  serial: number;
  booted: boolean;
  pinned: boolean;
  /** Markers printed after the name: rollback, staged, pending. */
  flags: string[];
  version?: string;
}

export type StatusParse = { ok: true; deployments: Deployment[] } | { ok: false; reason: string };

// Markers are whatever ostree prints in parentheses: (staged), (pending), (rollback) today.
const HEADER = /^([* ]) (\S+) ([0-9a-f]{64})\.(\d+)((?: \([a-z][a-z -]*\))*)\s*$/;

export function parseOstreeStatus(text: string): StatusParse {
  if (text.trim() === 'No deployments.') return { ok: true, deployments: [] };
  const deployments: Deployment[] = [];
  for (const [number, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const header = HEADER.exec(line);
    if (header) {
      deployments.push({
        index: deployments.length,
        booted: header[1] === '*',
        osname: header[2]!,
        checksum: header[3]!,
        serial: Number(header[4]),
        pinned: false,
        flags: [...(header[5] ?? '').matchAll(/\(([^)]+)\)/g)].map((m) => m[1]!),
      });
      continue;
    }
    const current = deployments.at(-1);
    // A line that is neither a header nor indented under one could be a deployment we cannot
    // read: deciding on part of the list could undeploy the wrong index, so refuse.
    if (!current || !/^\s{4,}\S/.test(line)) return { ok: false, reason: `unrecognised line ${number + 1}: ${line.trim()}` };
    const detail = /^\s{4,}([A-Za-z][A-Za-z ]*):\s*(.*)$/.exec(line);
    if (detail?.[1] === 'Pinned') current.pinned = detail[2] === 'yes';
    else if (detail?.[1] === 'Version') current.version = detail[2]!;
    // Other details (origin, `- source title, Unlocked, GPG...) do not change what we decide.
  }
  if (deployments.length === 0) return { ok: false, reason: text.trim() === '' ? 'empty output' : 'no deployment listed' };
  return { ok: true, deployments };
}

/**
 * `rpm-ostree status --json`: only the fields we decide on are required; rpm-ostree adds fields
 * from release to release (packages, base-commit-meta, container-image-reference...).
 */
const rpmOstreeDeployment = z.looseObject({
  id: z.string().min(1),
  osname: z.string().min(1),
  checksum: z.string().regex(/^[0-9a-f]{64}$/),
  serial: z.number().int().nonnegative(),
  booted: z.boolean(),
  // Older rpm-ostree leaves out `pinned` and `staged` when false.
  pinned: z.boolean().optional(),
  staged: z.boolean().optional(),
  version: z.string().optional(),
});

export const rpmOstreeStatusSchema = z.looseObject({ deployments: z.array(rpmOstreeDeployment) });

export function parseRpmOstreeStatus(text: string): StatusParse {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, reason: text.trim() === '' ? 'empty output' : 'not JSON' };
  }
  const parsed = rpmOstreeStatusSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `unexpected JSON at ${issue?.path.join('.') || 'top level'}: ${issue?.message ?? 'invalid'}` };
  }
  const deployments: Deployment[] = parsed.data.deployments.map((d, index) => ({
    index,
    osname: d.osname,
    checksum: d.checksum,
    serial: d.serial,
    booted: d.booted,
    pinned: d.pinned ?? false,
    flags: d.staged ? ['staged'] : [],
    ...(d.version ? { version: d.version } : {}),
  }));
  if (deployments.filter((d) => d.booted).length > 1) return { ok: false, reason: 'more than one deployment is marked booted' };
  // The JSON has no pending/rollback markers: derive them as ostree admin status prints them.
  const { pending, rollback } = pendingAndRollback(deployments);
  if (pending && !pending.flags.includes('staged')) pending.flags.push('pending');
  if (rollback) rollback.flags.push('rollback');
  return { ok: true, deployments };
}

/**
 * ostree's own rule (ostree_sysroot_query_deployments_for): among the deployments of the booted
 * one's osname, the first listed before it is pending (it boots next), the first after it is the
 * rollback target. Nothing is pending or rollback when no deployment is booted.
 */
export function pendingAndRollback<T extends Deployment>(deployments: readonly T[]): { booted?: T; pending?: T; rollback?: T } {
  const booted = deployments.find((d) => d.booted);
  if (!booted) return {};
  const same = deployments.filter((d) => d.osname === booted.osname && d !== booted);
  const pending = same.find((d) => d.index < booted.index);
  const rollback = same.find((d) => d.index > booted.index);
  return { booted, ...(pending ? { pending } : {}), ...(rollback ? { rollback } : {}) };
}

/** `rhcos 7aa0c7849039.0 (415.92.202402010000-0)`: how a deployment is named in messages. */
export function describeDeployment(d: Pick<Deployment, 'osname' | 'checksum' | 'serial' | 'version'>): string {
  return `${d.osname} ${d.checksum.slice(0, 12)}.${d.serial}${d.version ? ` (${d.version})` : ''}`;
}
