import { runBackup } from '../../backup/runBackup.js';
import { DEFAULT_SPACE_MARGIN, GiB, formatBytes } from '../../backup/diskSpace.js';
import type { Host } from '../../host/ports.js';
import type { Output } from '../output.js';
import { TOOL_VERSION } from '../version.js';
import type { ImageSelection } from '../../images/backupImages.js';

export interface BackupFlags {
  dir: string;
  force: boolean;
  fresh: boolean;
  spaceMargin: number;
  /** --images with its patterns; undefined without --images. */
  images?: ImageSelection | undefined;
  /** --require-api, --cert-warn-days and KUBECONFIG (src/identity/backupCheck.ts). */
  requireApi?: boolean;
  certWarnDays?: number;
  kubeconfig?: string;
}

export async function backupCommand(host: Host, output: Output, flags: BackupFlags, selfExecutable: string | undefined): Promise<void> {
  const result = await runBackup(host, output.reporter, {
    dir: flags.dir,
    force: flags.force,
    fresh: flags.fresh,
    spaceMargin: flags.spaceMargin,
    toolVersion: TOOL_VERSION,
    ...(flags.images ? { images: flags.images } : {}),
    ...(flags.requireApi !== undefined ? { requireApi: flags.requireApi } : {}),
    ...(flags.certWarnDays !== undefined ? { certWarnDays: flags.certWarnDays } : {}),
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
    ...(selfExecutable ? { selfExecutable } : {}),
  });
  const bytes = result.summary.components.reduce((sum, c) => sum + c.bytes, 0);
  const entries = result.summary.components.reduce((sum, c) => sum + c.entries, 0);
  output.result({
    ok: true,
    lines: [
      `Backup ${result.id} complete${result.resumed ? ' (resumed)' : ''}: ${entries} entries, ${formatBytes(bytes)} in ${result.dir}`,
      ...(result.summary.images ? [`Container images: ${result.summary.images.count} saved, ${formatBytes(result.summary.images.bytes)}`] : []),
      ...(result.summary.warnings.length ? [`${result.summary.warnings.length} warning(s), listed above and in backup.json`] : []),
      `Next: upgrade the cluster; to check this backup later: upgrade-recovery verify --dir ${result.dir}`,
    ],
    json: { command: 'backup', id: result.id, dir: result.dir, generation: result.generation, resumed: result.resumed, summary: result.summary },
  });
}

export function parseSpaceMargin(value: string): number {
  const gib = Number(value);
  if (!Number.isFinite(gib) || gib < 0) throw new Error(`--space-margin takes a number of GiB, not "${value}"`);
  return Math.round(gib * GiB);
}

export const DEFAULT_MARGIN_GIB = DEFAULT_SPACE_MARGIN / GiB;
