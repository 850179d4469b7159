// extras.tgz: files the MachineConfig manages outside the three copied trees (they would otherwise
// not come back after a restore). A listed file that is missing is reported, not fatal.
import type { Host } from '../host/ports.js';
import type { Reporter } from '../core/reporter.js';
import { RecoveryError } from '../core/errors.js';
import { machineConfigSchema, managedFilePaths } from '../machineConfig/schema.js';
import { TREE_COMPONENTS } from './layout.js';
import { exists } from '../host/durable.js';

export const CURRENT_CONFIG = '/etc/machine-config-daemon/currentconfig';

export interface ExtrasResult {
  archived: string[];
  missing: string[];
}

/** Paths a MachineConfig manages that are not inside /etc, /usr/local or /var/lib/kubelet. */
export function pathsOutsideTrees(paths: readonly string[]): string[] {
  const inside = (p: string) => TREE_COMPONENTS.some((t) => p === t.nodePath || p.startsWith(`${t.nodePath}/`));
  return [...new Set(paths.filter((p) => !inside(p)))].sort();
}

export async function readManagedPaths(host: Host): Promise<string[]> {
  const file = host.root.path(CURRENT_CONFIG);
  let raw: string;
  try {
    raw = await host.fs.readFile(file, 'utf8');
  } catch (error) {
    throw new RecoveryError('failure', `cannot read ${CURRENT_CONFIG}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new RecoveryError('failure', `${CURRENT_CONFIG} is not JSON`);
  }
  const parsed = machineConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RecoveryError('failure', `${CURRENT_CONFIG} is not a MachineConfig: ${issue?.path.join('.')} ${issue?.message}`);
  }
  return managedFilePaths(parsed.data);
}

export async function archiveExtras(host: Host, reporter: Reporter, archive: string): Promise<ExtrasResult> {
  // The old script's jq loop ran zero times without the file; we say so instead of staying silent.
  const configured = await exists(host.fs, host.root.path(CURRENT_CONFIG));
  if (!configured) reporter.warn(`${CURRENT_CONFIG} is missing: no MachineConfig files outside the trees are saved (extras.tgz is empty)`);
  const wanted = configured ? pathsOutsideTrees(await readManagedPaths(host)) : [];
  const archived: string[] = [];
  const missing: string[] = [];
  for (const nodePath of wanted) {
    if (await exists(host.fs, host.root.path(nodePath))) archived.push(nodePath);
    else missing.push(nodePath);
  }
  for (const nodePath of missing) reporter.warn(`${nodePath} is listed in the MachineConfig but missing on the node: not in extras.tgz`);
  // An empty list still makes an (empty) archive: the restore and the old procedure expect the file.
  await host.archiver.createTarGz(archive, host.root.dir, archived.map((p) => p.slice(1)));
  return { archived, missing };
}
