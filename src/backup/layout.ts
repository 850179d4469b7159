// Where things live in the backup dir. The old layout (cluster/, etc/, local/, kubelet/,
// extras.tgz, etc.exclude.list at the top) is kept as symlinks into `current`, which points at one
// complete generation. Switching backups is one rename of `current`: there is never a moment
// without a complete backup, and a partial one is never reachable through the old names.
import path from 'node:path';

/** The three trees copied whole, as in the old tool: backup dir name -> node path. */
export const TREE_COMPONENTS = [
  { name: 'etc', nodePath: '/etc' },
  { name: 'local', nodePath: '/usr/local' },
  { name: 'kubelet', nodePath: '/var/lib/kubelet' },
] as const;

export type TreeName = (typeof TREE_COMPONENTS)[number]['name'];

/** Names at the top of the backup dir that lead into the current generation. */
export const LAYOUT_LINKS = ['cluster', 'etc', 'local', 'kubelet', 'extras.tgz', 'etc.exclude.list', 'backup.json'] as const;

export const TOOL_BINARY = 'upgrade-recovery';
export const TOOL_SHIM = 'upgrade-recovery.sh';

export class BackupLayout {
  constructor(readonly dir: string) {}

  get generations(): string {
    return path.join(this.dir, 'generations');
  }
  get current(): string {
    return path.join(this.dir, 'current');
  }
  get lock(): string {
    return path.join(this.dir, '.upgrade-recovery.lock');
  }
  /** Our restore journal (issue: restore); its presence means a restore is under way. */
  get restoreJournal(): string {
    return path.join(this.dir, 'restore.journal');
  }
  /** The old script's progress file: a restore it started is still under way. */
  get legacyProgress(): string {
    return path.join(this.dir, 'progress');
  }
  generation(id: string): string {
    return path.join(this.generations, id);
  }
  partial(id: string): string {
    return path.join(this.generations, `${id}.partial`);
  }
}

/** Paths inside one generation. */
export class GenerationPaths {
  constructor(readonly dir: string) {}

  get summary(): string {
    return path.join(this.dir, 'backup.json');
  }
  get state(): string {
    return path.join(this.dir, 'state.json');
  }
  get cluster(): string {
    return path.join(this.dir, 'cluster');
  }
  get extras(): string {
    return path.join(this.dir, 'extras.tgz');
  }
  get excludeList(): string {
    return path.join(this.dir, 'etc.exclude.list');
  }
  get tool(): string {
    return path.join(this.dir, TOOL_BINARY);
  }
  get manifests(): string {
    return path.join(this.dir, 'manifests');
  }
  tree(name: string): string {
    return path.join(this.dir, name);
  }
  manifest(component: string): string {
    return path.join(this.manifests, `${component}.jsonl`);
  }
}

/** A generation id that sorts by time: 20261125T101500Z. */
export function generationId(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}
