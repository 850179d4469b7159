// The node's own commands as the old restore ran them (systemctl, crictl, crio, setenforce, oc),
// with their output parsed and validated. Expected failures come back as RecoveryErrors that name
// the command and its last words.
import { z } from 'zod';
import type { CommandResult, Host } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';

export class NodeCommands {
  constructor(
    private readonly host: Host,
    /** Handed to `oc` as KUBECONFIG. */
    private readonly kubeconfig: string,
  ) {}

  async run(command: string, args: readonly string[], what: string): Promise<CommandResult> {
    const result = await this.host.runner.run(command, args, command === 'oc' ? { env: { KUBECONFIG: this.kubeconfig } } : {});
    if (result.exitCode !== 0) {
      const words = lastWords(result);
      throw new RecoveryError('failure', `${what} failed: ${command} ${args.join(' ')} exited ${result.exitCode}${words ? `: ${words}` : ''}`);
    }
    return result;
  }

  /** Runs and reports, but a failure is only a warning (status displays on a broken cluster). */
  async tryRun(command: string, args: readonly string[]): Promise<CommandResult> {
    return this.host.runner.run(command, args, command === 'oc' ? { env: { KUBECONFIG: this.kubeconfig } } : {});
  }

  systemctl(verb: string, unit?: string): Promise<CommandResult> {
    return this.run('systemctl', unit ? [verb, unit] : [verb], `systemctl ${verb}${unit ? ` ${unit}` : ''}`);
  }

  async isActive(unit: string): Promise<boolean> {
    return (await this.host.runner.run('systemctl', ['is-active', '--quiet', unit])).exitCode === 0;
  }

  async setenforce(mode: 0 | 1): Promise<void> {
    await this.run('setenforce', [String(mode)], mode === 0 ? 'entering SELinux permissive mode' : 'putting SELinux back to enforcing');
  }

  /** Running containers by name (`crictl ps -o json`), as the old script read them. */
  async runningContainers(): Promise<Map<string, { id: string; state: string }>> {
    const result = await this.host.runner.run('crictl', ['ps', '-o', 'json']);
    if (result.exitCode !== 0) return new Map();
    const parsed = crictlPsSchema.safeParse(parseJson(result.stdout));
    if (!parsed.success) throw new RecoveryError('failure', `crictl ps -o json gave output we cannot read: ${result.stdout.slice(0, 120)}`);
    const byName = new Map<string, { id: string; state: string }>();
    for (const c of parsed.data.containers ?? []) byName.set(c.metadata.name, { id: c.id, state: c.state });
    return byName;
  }

  /** `.items[0].status` revisions of an operator resource (etcd, kubeapiserver...). */
  async revisions(kind: string): Promise<{ latest: number; current: number } | undefined> {
    const result = await this.tryRun('oc', ['get', kind, '-o', 'json']);
    if (result.exitCode !== 0) return undefined;
    const parsed = operatorListSchema.safeParse(parseJson(result.stdout));
    const status = parsed.success ? parsed.data.items[0]?.status : undefined;
    const current = status?.nodeStatuses?.[0]?.currentRevision;
    if (status?.latestAvailableRevision === undefined || current === undefined) return undefined;
    return { latest: status.latestAvailableRevision, current };
  }
}

const crictlPsSchema = z.object({
  containers: z.array(z.looseObject({ id: z.string(), state: z.string(), metadata: z.looseObject({ name: z.string() }) })).nullish(),
});

const operatorListSchema = z.object({
  items: z.array(
    z.looseObject({
      status: z
        .looseObject({
          latestAvailableRevision: z.number().int().optional(),
          nodeStatuses: z.array(z.looseObject({ currentRevision: z.number().int().optional() })).optional(),
        })
        .optional(),
    }),
  ),
});

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function lastWords(result: CommandResult): string {
  return (result.stderr || result.stdout).trim().split('\n').slice(-2).join(' | ');
}
