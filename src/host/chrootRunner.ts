// The one piece that makes `launch` run the node's own commands inside the node, as the old Job
// did: a CommandRunner decorator that turns `ostree admin pin 0 --sysroot=/host` into
// `chroot /host ostree admin pin 0`. The core keeps computing every node path under the root
// (`/host/var/recovery/...`, as with `--root`); here those paths are mapped back to what the
// chrooted command sees (`/var/recovery/...`). Everything else (cp, getfattr, sync, mount, mknod)
// is the container's own tool working on the /host paths, and passes through untouched.
import path from 'node:path';
import type { CommandRunner } from './ports.js';

/**
 * Commands that belong to the node: they must match its OS and data (ostree on its sysroot, etcd's
 * tools on its snapshot format), or only work in its namespaces' view (`logger` needs its
 * /dev/log, which the Job mounts at /host/dev/log). A command given as a path under the root (the
 * node's /usr/local/bin/cluster-backup.sh) is the node's too.
 */
export const NODE_COMMANDS: readonly string[] = ['ostree', 'rpm-ostree', 'etcdutl', 'etcdctl', 'logger', 'skopeo', 'crictl'];

/** Turns a runner into one that runs node commands in a node root; swapped out in tests. */
export type NodeCommandMode = (runner: CommandRunner, root: string) => CommandRunner;

/** `chroot <root> cmd args`: what the Job does on a real node. */
export const chrootNodeCommands: NodeCommandMode = (runner, root) => new ChrootRunner(runner, root);

/**
 * The pass-through: node commands run from this machine's PATH with `--root` semantics
 * (`--sysroot=<root>`, `<root>/usr/local/bin/cluster-backup.sh`). For a sandbox root, which has no
 * binaries of its own to chroot into.
 */
export const directNodeCommands: NodeCommandMode = (runner) => runner;

export class ChrootRunner implements CommandRunner {
  readonly root: string;

  constructor(
    private readonly inner: CommandRunner,
    root: string,
    private readonly nodeCommands: readonly string[] = NODE_COMMANDS,
  ) {
    this.root = path.resolve(root);
  }

  /** The command line that is really run for `command args`. */
  rewrite(command: string, args: readonly string[]): { command: string; args: string[] } {
    const inRoot = this.toNodePath(command);
    const isNodeCommand = inRoot !== undefined || this.nodeCommands.includes(command);
    if (!isNodeCommand) return { command, args: [...args] };
    let mapped = args.map((arg) => this.mapArgument(arg));
    // Inside the chroot the node's sysroot is `/`, ostree's default: say nothing rather than `--sysroot=/`.
    if (path.basename(command) === 'ostree') mapped = mapped.filter((arg) => arg !== '--sysroot=/');
    return { command: 'chroot', args: [this.root, inRoot ?? command, ...mapped] };
  }

  run(command: string, args: readonly string[], options?: Parameters<CommandRunner['run']>[2]) {
    const line = this.rewrite(command, args);
    return this.inner.run(line.command, line.args, options);
  }

  /** `/host/var/recovery` -> `/var/recovery`, also in `--option=/host/...`; other arguments unchanged. */
  private mapArgument(arg: string): string {
    const direct = this.toNodePath(arg);
    if (direct !== undefined) return direct;
    const image = this.mapImageReference(arg);
    if (image !== undefined) return image;
    const match = /^(--?[\w-]+=)(\/.*)$/.exec(arg);
    const value = match ? this.toNodePath(match[2]!) : undefined;
    return match && value !== undefined ? `${match[1]}${value}` : arg;
  }

  /**
   * skopeo's image names: `oci:/host/var/recovery/...[:ref]` and
   * `containers-storage:[overlay@/host/var/lib/containers/storage+/host/run/containers/storage]name`.
   */
  private mapImageReference(arg: string): string | undefined {
    const storage = /^containers-storage:\[([^@\]]*@)?(\/[^+\]]*)(?:\+(\/[^\]]*))?\](.*)$/.exec(arg);
    if (storage) {
      const [, driver = '', graph = '', run, rest = ''] = storage;
      const node = (p: string) => this.toNodePath(p) ?? p;
      return `containers-storage:[${driver}${node(graph)}${run ? `+${node(run)}` : ''}]${rest}`;
    }
    const file = /^(oci|oci-archive|dir|docker-archive):(\/.*)$/.exec(arg);
    const mapped = file ? this.toNodePath(file[2]!) : undefined;
    return file && mapped !== undefined ? `${file[1]}:${mapped}` : undefined;
  }

  private toNodePath(candidate: string): string | undefined {
    if (!candidate.startsWith('/')) return undefined;
    if (this.root === '/') return candidate;
    const normal = path.resolve(candidate);
    if (normal === this.root) return '/';
    return normal.startsWith(`${this.root}/`) ? normal.slice(this.root.length) : undefined;
  }
}
