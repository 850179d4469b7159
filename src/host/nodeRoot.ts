import path from 'node:path';

/**
 * Where the node's filesystem is. Every node path the tool reads or writes goes through here, so
 * that `--root <sandbox>` (tests, the Job's /host mount) and `/` (a real node) share one code path.
 */
export class NodeRoot {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  get isHostRoot(): boolean {
    return this.dir === '/';
  }

  /** Maps an absolute node path (`/etc/kubernetes`) to where it is seen from this process. */
  path(nodePath: string): string {
    if (!nodePath.startsWith('/')) throw new Error(`node path must be absolute: ${nodePath}`);
    return path.join(this.dir, nodePath);
  }

  /** Arguments that make `ostree admin` act on this root's sysroot. */
  ostreeSysrootArgs(): string[] {
    return this.isHostRoot ? [] : [`--sysroot=${this.dir}`];
  }
}
