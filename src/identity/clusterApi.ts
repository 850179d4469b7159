// Reads the cluster through `oc get <kind> -o json`, the way an operator would look at it. The API
// may not answer (a failed upgrade, a Job without API access): that is an answer too, kept with
// oc's own words, never an exception.
import { z } from 'zod';
import type { Host } from '../host/ports.js';
import { firstLine } from '../core/firstLine.js';

const condition = z.looseObject({ type: z.string(), status: z.string(), reason: z.string().optional(), message: z.string().optional() });
const conditions = z.array(condition).optional();
const metadata = z.looseObject({ name: z.string() });

export const clusterVersionSchema = z.looseObject({
  metadata,
  spec: z.looseObject({ clusterID: z.string().optional() }).optional(),
  status: z
    .looseObject({
      desired: z.looseObject({ version: z.string().optional() }).optional(),
      history: z.array(z.looseObject({ state: z.string().optional(), version: z.string().optional() })).optional(),
      conditions,
    })
    .optional(),
});
export const clusterOperatorSchema = z.looseObject({
  metadata,
  status: z.looseObject({ conditions, versions: z.array(z.looseObject({ name: z.string(), version: z.string() })).optional() }).optional(),
});
export const nodeSchema = z.looseObject({ metadata, status: z.looseObject({ conditions }).optional() });
export const machineConfigPoolSchema = z.looseObject({
  metadata,
  status: z
    .looseObject({ conditions, machineCount: z.number().int().optional(), updatedMachineCount: z.number().int().optional(), degradedMachineCount: z.number().int().optional() })
    .optional(),
});
export const csrSchema = z.looseObject({
  metadata,
  spec: z.looseObject({ username: z.string().optional(), signerName: z.string().optional() }).optional(),
  status: z.looseObject({ conditions, certificate: z.string().optional() }).optional(),
});

export type ClusterVersion = z.infer<typeof clusterVersionSchema>;
export type ClusterOperator = z.infer<typeof clusterOperatorSchema>;
export type ClusterNode = z.infer<typeof nodeSchema>;
export type MachineConfigPool = z.infer<typeof machineConfigPoolSchema>;
export type CertificateSigningRequest = z.infer<typeof csrSchema>;
type Condition = z.infer<typeof condition>;

/** What `oc get` gave: the validated items, or why there are none (API down, no oc, no kubeconfig). */
export type ApiAnswer<T> = { ok: true; items: T[] } | { ok: false; reason: string };

export class ClusterApi {
  constructor(
    private readonly host: Host,
    /** Handed to `oc` as KUBECONFIG. */
    private readonly kubeconfig: string,
  ) {}

  clusterVersions(): Promise<ApiAnswer<ClusterVersion>> {
    return this.list('clusterversion', clusterVersionSchema);
  }
  clusterOperators(): Promise<ApiAnswer<ClusterOperator>> {
    return this.list('clusteroperators', clusterOperatorSchema);
  }
  nodes(): Promise<ApiAnswer<ClusterNode>> {
    return this.list('nodes', nodeSchema);
  }
  machineConfigPools(): Promise<ApiAnswer<MachineConfigPool>> {
    return this.list('machineconfigpools', machineConfigPoolSchema);
  }
  csrs(): Promise<ApiAnswer<CertificateSigningRequest>> {
    return this.list('csr', csrSchema);
  }

  private async list<T>(kind: string, schema: z.ZodType<T>): Promise<ApiAnswer<T>> {
    if (!(await readable(this.host, this.kubeconfig))) return { ok: false, reason: `no readable kubeconfig (${this.kubeconfig})` };
    const run = await this.host.runner.run('oc', ['get', kind, '-o', 'json', '--request-timeout=30s'], { env: { KUBECONFIG: this.kubeconfig }, timeoutMs: 60_000 });
    if (run.exitCode === 127) return { ok: false, reason: 'oc is not installed here' };
    if (run.exitCode !== 0 || run.signal) {
      return { ok: false, reason: firstLine(run.stderr || run.stdout) || `oc get ${kind} exited ${run.exitCode}${run.signal ? ` (${run.signal})` : ''}` };
    }
    let json: unknown;
    try {
      json = JSON.parse(run.stdout);
    } catch {
      return { ok: false, reason: `oc get ${kind} -o json did not print JSON` };
    }
    const parsed = z.object({ items: z.array(schema) }).safeParse(json);
    if (!parsed.success) return { ok: false, reason: `oc get ${kind} -o json gave objects we cannot read: ${parsed.error.issues[0]?.message ?? ''}` };
    return { ok: true, items: parsed.data.items };
  }
}

export function conditionOf(object: { status?: { conditions?: Condition[] | undefined } | undefined }, type: string): Condition | undefined {
  return object.status?.conditions?.find((c) => c.type === type);
}

async function readable(host: Host, file: string): Promise<boolean> {
  try {
    const handle = await host.fs.open(file, 'r');
    await handle.close();
    return true;
  } catch {
    return false;
  }
}

