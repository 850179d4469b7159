// The node the benchmark works on: the sandbox generator at a chosen scale, plus what the
// generator does not make at scale (a few more large binaries, and for `million` a million tiny
// files written directly), the deterministic "failed upgrade" mutation, and the reset that puts the
// three trees back exactly as in the backup between rounds.
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, unlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { createSandboxNode, prng, type SandboxNode } from '../sandbox/sandboxNode.js';
import type { RunningEtcd } from '../sandbox/etcd.js';

const MiB = 1024 * 1024;

/** The three trees: backup name and path in the node root (/usr/local is a link into /var there). */
export const TREES = [
  ['etc', 'etc'],
  ['local', 'usr/local'],
  ['kubelet', 'var/lib/kubelet'],
] as const;

export type ScaleName = 'small' | 'default' | 'large' | 'million';

export interface Scale {
  smallFiles: number;
  pods: number;
  bigFileBytes: number;
  sparseBytes: number;
  /** More large binaries in /usr/local/bin beside the generator's node-tool: [name, bytes]. */
  extraBinaries: Array<[string, number]>;
  /** Tiny files written directly under one pod's empty-dir volume (the `million` scale). */
  tinyFiles: number;
}

export const SCALES: Record<ScaleName, Scale> = {
  small: { smallFiles: 3_000, pods: 40, bigFileBytes: 32 * MiB, sparseBytes: 64 * MiB, extraBinaries: [['oc', 8 * MiB]], tinyFiles: 0 },
  default: {
    smallFiles: 30_000,
    pods: 400,
    bigFileBytes: 256 * MiB,
    sparseBytes: 256 * MiB,
    extraBinaries: [['oc', 96 * MiB], ['kubectl', 48 * MiB]],
    tinyFiles: 0,
  },
  large: {
    smallFiles: 120_000,
    pods: 1_500,
    bigFileBytes: 1024 * MiB,
    sparseBytes: 1024 * MiB,
    extraBinaries: [['oc', 256 * MiB], ['kubectl', 128 * MiB]],
    tinyFiles: 0,
  },
  // For peak memory: a modest tree plus 1,000,000 tiny files.
  million: { smallFiles: 3_000, pods: 40, bigFileBytes: 32 * MiB, sparseBytes: 64 * MiB, extraBinaries: [], tinyFiles: 1_000_000 },
};

export function describeScale(scale: Scale): string {
  const binaries = [scale.bigFileBytes, ...scale.extraBinaries.map(([, bytes]) => bytes)].map((b) => `${b / MiB} MiB`).join(' + ');
  const tiny = scale.tinyFiles ? `, ${scale.tinyFiles.toLocaleString('en')} tiny files in a kubelet volume` : '';
  return `smallFiles ${scale.smallFiles}, pods ${scale.pods}, binaries ${binaries}, sparse ${scale.sparseBytes / MiB} MiB${tiny}`;
}

const BIN_LABEL = 'system_u:object_r:bin_t:s0';
const VOLUME_LABEL = 'system_u:object_r:container_file_t:s0:c12,c345';

export async function createBenchNode(root: string, scale: Scale, seed: number, etcd: RunningEtcd, log: (line: string) => void): Promise<SandboxNode> {
  log(`generating the sandbox node (${describeScale(scale)}, seed ${seed})`);
  const node = await createSandboxNode(root, { seed, etcd, smallFiles: scale.smallFiles, pods: scale.pods, bigFileBytes: scale.bigFileBytes, sparseBytes: scale.sparseBytes });
  for (const [name, bytes] of scale.extraBinaries) await writeBinary(path.join(root, 'usr/local/bin', name), bytes);
  if (scale.tinyFiles > 0) {
    log(`writing ${scale.tinyFiles.toLocaleString('en')} tiny files directly (the generator is too slow for that)`);
    await writeTinyFiles(root, scale.tinyFiles, seed);
  }
  return node;
}

/** A large binary: random bytes in 8 MiB chunks, mode 0755, labelled as the generator labels bin/. */
async function writeBinary(file: string, bytes: number): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    for (let written = 0; written < bytes; ) {
      const chunk = randomBytes(Math.min(8 * MiB, bytes - written));
      await handle.write(chunk);
      written += chunk.length;
    }
  } finally {
    await handle.close();
  }
  await fs.chmod(file, 0o755);
  await execa('setfattr', ['-h', '-n', 'security.selinux', '-v', BIN_LABEL, file]);
}

/**
 * `count` tiny files in dirs of 1000 under 20 pods' empty-dir volumes, written with a synchronous
 * loop (tens of thousands per second), then labelled with one `setfattr --restore` of a dump, as
 * the generator does, so every entry carries an xattr as on a real node.
 */
async function writeTinyFiles(root: string, count: number, seed: number): Promise<void> {
  const random = prng(seed ^ 0x7f4a7c15);
  const perDir = 1000;
  const dumpFile = path.join(path.dirname(root), `.tiny-labels-${process.pid}`);
  const dump = openSync(dumpFile, 'w');
  try {
    for (let dir = 0; dir * perDir < count; dir++) {
      const pod = `var/lib/kubelet/pods/bench-tiny-${String(dir % 20).padStart(2, '0')}/volumes/kubernetes.io~empty-dir/data`;
      const rel = `${pod}/d${String(dir).padStart(4, '0')}`;
      mkdirSync(path.join(root, rel), { recursive: true });
      const lines: string[] = [];
      for (let i = 0; i < perDir && dir * perDir + i < count; i++) {
        const name = `${rel}/f${String(i).padStart(4, '0')}`;
        writeFileSync(path.join(root, name), `${Math.floor(random() * 1e9).toString(36)}\n`);
        lines.push(`# file: ${name}\nsecurity.selinux="${VOLUME_LABEL}"\n`);
      }
      writeSync(dump, `${lines.join('\n')}\n`);
    }
  } finally {
    closeSync(dump);
  }
  try {
    await execa('setfattr', ['-h', `--restore=${dumpFile}`], { cwd: root });
  } finally {
    await fs.rm(dumpFile, { force: true });
  }
}

// ------------------------------------------------------------------------------ the mutation

/**
 * Files a mutation leaves alone: what our restore leaves alone by design (etc.exclude.list:
 * kubernetes/manifests, .updated), and the kubeconfig the restore reads before it restores /etc.
 */
const PROTECTED = ['etc/kubernetes/manifests/', 'etc/.updated', 'etc/kubernetes/static-pod-resources/kube-apiserver-certs/secrets/node-kubeconfigs/'];

export interface MutationCounts {
  tree: string;
  files: number;
  changed: number;
  deleted: number;
  added: number;
}

/**
 * What a failed upgrade does, at `fraction` of the regular files of each tree: 3 in 5 chosen files
 * get 64 bytes rewritten at a random offset and a new mtime, 1 in 5 is deleted, and for 1 in 5 a
 * new file appears beside it. Everything (choice, offsets, bytes, mtimes) derives from `seed`, so
 * the same tree gives the same mutated tree every round.
 */
export function mutate(root: string, seed: number, fraction: number): MutationCounts[] {
  return TREES.map(([tree, nodePath], t) => {
    const files = regularFiles(root, nodePath).filter((rel) => !PROTECTED.some((p) => rel.startsWith(p)));
    const random = prng((seed * 31 + t + 1) >>> 0);
    const chosen = pick(files.length, Math.max(1, Math.round(files.length * fraction)), random);
    const counts: MutationCounts = { tree, files: files.length, changed: 0, deleted: 0, added: 0 };
    const upgradeTime = 1_800_000_000; // after every generated mtime: the upgrade happened later
    chosen.forEach((index, i) => {
      const file = latin1Path(root, files[index]!);
      const kind = (['change', 'change', 'change', 'delete', 'add'] as const)[i % 5]!;
      if (kind === 'change') {
        const fd = openSync(file, 'r+');
        try {
          const size = fstatSync(fd).size;
          writeSync(fd, bytesFrom(random, 64), 0, 64, size > 64 ? Math.floor(random() * (size - 64)) : 0);
        } finally {
          closeSync(fd);
        }
        utimesSync(file, upgradeTime + i, upgradeTime + i);
        counts.changed++;
      } else if (kind === 'delete') {
        unlinkSync(file);
        counts.deleted++;
      } else {
        const added = latin1Path(root, `${path.posix.dirname(files[index]!)}/upgrade-added-${i}.conf`);
        writeFileSync(added, bytesFrom(random, 100 + Math.floor(random() * 2000)));
        utimesSync(added, upgradeTime + i, upgradeTime + i);
        counts.added++;
      }
    });
    return counts;
  });
}

/**
 * Regular files under `root/nodePath`, relative to root, sorted by bytes. Names are kept as
 * latin1 strings (one char per byte): the sandbox has a name that is not UTF-8, and latin1 gives
 * every byte back unchanged.
 */
function regularFiles(root: string, nodePath: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(latin1Path(root, rel), { withFileTypes: true, encoding: 'latin1' })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) out.push(child);
    }
  };
  walk(nodePath); // usr/local is a symlink: readdir follows it, the walk below it never does
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function latin1Path(root: string, rel: string): Buffer {
  return Buffer.concat([Buffer.from(root), Buffer.from(`/${rel}`, 'latin1')]);
}

/** `k` distinct indices out of `n`, by a partial Fisher-Yates shuffle. */
function pick(n: number, k: number, random: () => number): number[] {
  const indices = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < Math.min(k, n); i++) {
    const j = i + Math.floor(random() * (n - i));
    [indices[i], indices[j]] = [indices[j]!, indices[i]!];
  }
  return indices.slice(0, Math.min(k, n));
}

function bytesFrom(random: () => number, length: number): Buffer {
  return Buffer.from(Array.from({ length }, () => Math.floor(random() * 256)));
}

// ------------------------------------------------------------------------------- the reset

/**
 * Puts the three live trees back exactly as in the backup (content, owners, modes, xattrs, ACLs,
 * hard links, nanosecond mtimes, extra entries removed), by size and mtime only: every mutation
 * changes one of them, so this is quick. Untimed, between rounds, so every round starts from the
 * same tree.
 */
export async function resetTrees(root: string, generation: string): Promise<void> {
  for (const [tree, nodePath] of TREES) {
    const run = await execa('rsync', ['-aAXH', '--modify-window=-1', '--delete', `${path.join(generation, tree)}/`, `${path.join(root, nodePath)}/`], { reject: false });
    if (run.exitCode !== 0) throw new Error(`resetting /${nodePath} failed: ${run.stderr}`);
  }
}
