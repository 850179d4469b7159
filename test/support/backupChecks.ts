// Independent checks of a backup, used by the integration and end-to-end tests: rsync as the
// oracle of an exact copy, ostree's own status, etcd's own restore.
import { execa } from 'execa';
import { readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/**
 * What `rsync -aAXHc --modify-window=-1 --dry-run --itemize-changes --delete` would change: '' when identical.
 * `excluded` are anchored paths (`/kubernetes/manifests`) left out on both sides.
 */
export async function rsyncDifferences(source: string, copy: string, excluded: readonly string[] = []): Promise<string> {
  const excludes = excluded.map((p) => `--exclude=${p}`);
  const run = await execa('rsync', ['-aAXHc', '--modify-window=-1', '--dry-run', '--itemize-changes', '--delete', ...excludes, `${source}/`, `${copy}/`], { reject: false });
  if (run.exitCode !== 0) throw new Error(`rsync failed: ${run.stderr}`);
  return run.stdout.trim();
}

export function currentGeneration(dir: string): string {
  return path.resolve(dir, readlinkSync(path.join(dir, 'current')));
}

export function readSummary(dir: string): Record<string, any> {
  return JSON.parse(readFileSync(path.join(currentGeneration(dir), 'backup.json'), 'utf8'));
}

/** The digest a manifest's footer gives its lines. */
export function manifestLinesDigest(manifest: string): string {
  return (JSON.parse(readFileSync(manifest, 'utf8').trim().split('\n').at(-1)!) as { digest: string }).digest;
}

export function jsonLines(stdout: string): Array<Record<string, any>> {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

export function resultLine(stdout: string): Record<string, any> {
  const last = jsonLines(stdout).at(-1);
  if (!last || last.event !== 'result') throw new Error(`no result line in:\n${stdout}`);
  return last;
}

export async function ostreeDeployments(root: string): Promise<string> {
  return (await execa('ostree', ['admin', 'status', `--sysroot=${root}`])).stdout;
}
