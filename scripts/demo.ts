// `npm run demo`: builds a sandbox SNO node in a temp dir (real files, SELinux labels, a real
// ostree sysroot with two deployments, a real etcd on loopback behind the node's
// cluster-backup.sh), backs it up with the single binary, verifies every byte, and shows what a
// backup holds and the independent checks that it is exact.
//   node scripts/run-ts.mjs scripts/demo.ts [--keep] [--seed N] [--binary PATH]
import { execa } from 'execa';
import { mkdtemp, readFile, readdir, readlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createSandboxNode, removeSandbox } from './sandbox/sandboxNode.js';
import { keysInSnapshot, startEtcd } from './sandbox/etcd.js';

const { values } = parseArgs({
  options: {
    keep: { type: 'boolean', default: false },
    seed: { type: 'string', default: String(Date.now() % 100000) },
    binary: { type: 'string', default: 'dist/upgrade-recovery' },
  },
});
const binary = path.resolve(values.binary);
if (!existsSync(binary)) {
  console.error(`${binary} is missing: run npm run build:binary first (npm run demo does it)`);
  process.exit(2);
}

const say = (text: string) => console.log(`\n\u001b[1m== ${text}\u001b[0m`);
const work = await mkdtemp(path.join(os.tmpdir(), 'upgrade-recovery-demo-'));
const root = path.join(work, 'node');
let failed = false;
say(`Starting a real etcd on loopback and writing 200 keys`);
const etcd = await startEtcd(path.join(work, 'etcd'));
try {
  for (let i = 0; i < 200; i++) await etcd.put(`/kubernetes.io/demo/key-${String(i).padStart(3, '0')}`, `value-${i}`);

  say(`Building a sandbox node in ${root} (seed ${values.seed})`);
  const node = await createSandboxNode(root, { seed: Number(values.seed), etcd });
  console.log((await execa('ostree', ['admin', 'status', `--sysroot=${root}`])).stdout);

  say(`upgrade-recovery backup --root ${root}`);
  const backup = await execa(binary, ['backup', '--root', root], { stdio: 'inherit', reject: false });
  if (backup.exitCode !== 0) throw new Error(`backup exited ${backup.exitCode}`);

  say('upgrade-recovery verify --data (every byte against the manifest)');
  const verify = await execa(binary, ['verify', '--root', root, '--data'], { stdio: 'inherit', reject: false });
  if (verify.exitCode !== 0) throw new Error(`verify exited ${verify.exitCode}`);

  const dir = path.join(root, 'var/recovery');
  say(`What ${dir} holds (the old layout's names lead into the current generation)`);
  for (const name of (await readdir(dir)).sort()) {
    const target = await readlink(path.join(dir, name)).catch(() => undefined);
    console.log(`  ${name}${target ? ` -> ${target}` : ''}`);
  }
  const summary = JSON.parse(await readFile(path.join(dir, 'backup.json'), 'utf8'));
  for (const c of summary.components) console.log(`  ${c.name.padEnd(8)} ${String(c.entries).padStart(6)} entries ${String(c.files).padStart(6)} files ${(c.bytes / 2 ** 20).toFixed(1).padStart(7)} MiB  manifest ${c.manifest}`);
  console.log(`  etcd snapshot ${summary.cluster.snapshot}: ${JSON.stringify(summary.cluster.status ?? 'no status')}`);
  console.log(`  extras.tgz: ${summary.extras.archived.join(', ')}; missing on the node: ${summary.extras.missing.join(', ') || 'none'}`);

  say('Independent checks: rsync -aAXHc --dry-run --itemize-changes finds nothing to change');
  for (const [tree, source] of [['etc', 'etc'], ['local', 'usr/local'], ['kubelet', 'var/lib/kubelet']]) {
    const run = await execa('rsync', ['-aAXHc', '--dry-run', '--itemize-changes', '--delete', `${path.join(root, source!)}/`, `${path.join(dir, tree!)}/`]);
    const changes = run.stdout.trim();
    console.log(`  /${source} vs ${tree}/: ${changes === '' ? 'identical' : `DIFFERENT:\n${changes}`}`);
    failed ||= changes !== '';
  }
  const keys = await keysInSnapshot(path.join(dir, 'cluster', summary.cluster.snapshot), path.join(work, 'restored-etcd'), '/kubernetes.io/demo/');
  console.log(`  etcdctl snapshot restore: ${Object.keys(keys).length} of 200 keys back`);
  failed ||= Object.keys(keys).length !== 200;
  console.log(`  ostree after the backup:\n${(await execa('ostree', ['admin', 'status', `--sysroot=${root}`])).stdout.replace(/^/gm, '    ')}`);
  void node;
} catch (error) {
  failed = true;
  console.error(`demo failed: ${(error as Error).message}`);
} finally {
  await etcd.stop();
  if (values.keep) console.log(`\nThe sandbox is kept in ${work}`);
  else await removeSandbox(work);
}
say(failed ? 'Demo FAILED' : 'Demo done: the backup is complete, verified and exact');
process.exitCode = failed ? 1 : 0;
