// The generations of the backup dir: finding the current complete one and a partial one, and
// switching to a new one without ever leaving the dir without a complete backup.
import path from 'node:path';
import type { Host } from '../host/ports.js';
import { RecoveryError } from '../core/errors.js';
import { exists, fsyncDir, replaceSymlink, writeFileDurably } from '../host/durable.js';
import { BackupLayout, GenerationPaths, LAYOUT_LINKS, TOOL_BINARY, TOOL_SHIM } from './layout.js';
import { backupStateSchema, backupSummarySchema, type BackupState, type BackupSummary } from './summary.js';

export interface PartialGeneration {
  id: string;
  paths: GenerationPaths;
  /** Undefined when state.json is missing or damaged: such a partial can only be discarded. */
  state?: BackupState;
}

export async function findPartials(host: Host, layout: BackupLayout): Promise<PartialGeneration[]> {
  const names = await host.fs.readdir(layout.generations).catch(() => [] as string[]);
  const partials: PartialGeneration[] = [];
  for (const name of names.filter((n) => n.endsWith('.partial')).sort()) {
    const id = name.slice(0, -'.partial'.length);
    const paths = new GenerationPaths(layout.partial(id));
    const state = await readJson(host, paths.state, backupStateSchema);
    partials.push({ id, paths, ...(state ? { state } : {}) });
  }
  return partials;
}

/** The generation `current` points at, with its validated summary; undefined when there is none. */
export async function readCurrentBackup(host: Host, layout: BackupLayout): Promise<{ id: string; paths: GenerationPaths; summary: BackupSummary } | undefined> {
  let target: string;
  try {
    target = await host.fs.readlink(layout.current);
  } catch {
    return undefined;
  }
  const dir = path.resolve(layout.dir, target);
  const paths = new GenerationPaths(dir);
  const raw = await host.fs.readFile(paths.summary, 'utf8').catch(() => undefined);
  if (raw === undefined) throw new RecoveryError('failure', `the current backup ${dir} has no backup.json`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new RecoveryError('failure', `${paths.summary} is damaged (not JSON)`);
  }
  const parsed = backupSummarySchema.safeParse(json);
  if (!parsed.success) throw new RecoveryError('failure', `${paths.summary} is damaged: ${parsed.error.issues[0]?.message}`);
  return { id: parsed.data.id, paths, summary: parsed.data };
}

/**
 * Why there is no backup to use in `layout`: nothing at all, or plain directories left by the old
 * upgrade-recovery.sh, which have no manifest to check them against.
 */
export async function explainMissingBackup(host: Host, layout: BackupLayout, nextWhenNone: string): Promise<RecoveryError> {
  const oldTool = await Promise.all(['cluster', 'etc', 'local', 'kubelet'].map((name) => host.fs.lstat(path.join(layout.dir, name)).then((s) => s.isDirectory(), () => false)));
  if (oldTool.every(Boolean)) {
    return new RecoveryError(
      'precondition',
      `the backup in ${layout.dir} was taken by the old upgrade-recovery.sh: it has no manifest to check it against, so this tool does not restore it`,
      `restore it with the old script, or, if the node is healthy, take a new backup: upgrade-recovery backup --dir ${layout.dir}`,
    );
  }
  return new RecoveryError('precondition', `no complete backup in ${layout.dir}`, nextWhenNone);
}

export async function writeState(host: Host, paths: GenerationPaths, state: BackupState): Promise<void> {
  await writeFileDurably(host.fs, paths.state, `${JSON.stringify(state, null, 2)}\n`);
}

/**
 * Makes a finished partial generation the current backup:
 * 1. flush every file of it to disk, 2. rename it to its final name, 3. swap `current` in one
 * rename, 4. make sure the old layout's names lead to `current`, 5. only then remove what the
 * switch made obsolete (older generations, an old tool's plain directories).
 */
export async function commitGeneration(host: Host, layout: BackupLayout, partial: PartialGeneration, toolSource?: string): Promise<GenerationPaths> {
  const sync = await host.runner.run('sync', ['-f', partial.paths.dir]);
  if (sync.exitCode !== 0) throw new RecoveryError('failure', `sync -f ${partial.paths.dir} failed: ${sync.stderr.trim()}`);
  await host.fs.rm(partial.paths.state, { force: true });
  const finalDir = layout.generation(partial.id);
  await host.fs.rename(partial.paths.dir, finalDir);
  await fsyncDir(host.fs, layout.generations);
  await replaceSymlink(host.fs, path.relative(layout.dir, finalDir), layout.current);

  const retired = path.join(layout.generations, `${partial.id}.retired`);
  for (const name of LAYOUT_LINKS) {
    const link = path.join(layout.dir, name);
    const wanted = path.join('current', name);
    const current = await host.fs.readlink(link).catch(() => undefined);
    if (current === wanted) continue;
    if (current === undefined && (await exists(host.fs, link))) {
      // A plain file or dir: the old tool's backup. Moved aside, not deleted, until the link is in place.
      await host.fs.mkdir(retired, { recursive: true });
      await host.fs.rename(link, path.join(retired, name));
    }
    await replaceSymlink(host.fs, wanted, link);
  }
  if (toolSource) await installTool(host, layout, toolSource, new GenerationPaths(finalDir).tool);
  await removeObsolete(host, layout, path.basename(finalDir));
  return new GenerationPaths(finalDir);
}

/**
 * Puts the binary and its old-name shim at the top of the backup dir, where operators look. The
 * binary is a hard link to the generation's copy when there is one (it is about 120 MB), and
 * stays valid when that generation is removed.
 */
export async function installTool(host: Host, layout: BackupLayout, source: string, generationCopy?: string): Promise<void> {
  const binary = path.join(layout.dir, TOOL_BINARY);
  if (path.resolve(source) !== path.resolve(binary)) {
    const temp = `${binary}.tmp-${host.processes.ownPid}`;
    await host.fs.rm(temp, { force: true });
    const linked = generationCopy ? await host.fs.link(generationCopy, temp).then(() => true, () => false) : false;
    if (!linked) await host.fs.copyFile(source, temp);
    await host.fs.chmod(temp, 0o755);
    await host.fs.rename(temp, binary);
  }
  const shim = `#!/bin/sh\n# The old script's name: runs upgrade-recovery with the same arguments.\nexec "$(dirname "$0")/${TOOL_BINARY}" "$@"\n`;
  await writeFileDurably(host.fs, path.join(layout.dir, TOOL_SHIM), shim, 0o755);
  await host.fs.chmod(path.join(layout.dir, TOOL_SHIM), 0o755);
}

async function removeObsolete(host: Host, layout: BackupLayout, keep: string): Promise<void> {
  for (const name of await host.fs.readdir(layout.generations)) {
    if (name === keep || name.endsWith('.partial')) continue;
    await host.fs.rm(path.join(layout.generations, name), { recursive: true, force: true });
  }
}

export async function discardPartial(host: Host, partial: PartialGeneration): Promise<void> {
  await host.fs.rm(partial.paths.dir, { recursive: true, force: true });
}

async function readJson<T>(host: Host, file: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }): Promise<T | undefined> {
  try {
    const parsed = schema.safeParse(JSON.parse(await host.fs.readFile(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
