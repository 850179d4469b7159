// `npm run demo`: builds a sandbox SNO node in a temp dir (real files, SELinux labels, a real
// ostree sysroot with two deployments, a real etcd on loopback behind the node's
// cluster-backup.sh), backs it up with the single binary, verifies every byte, shows what a
// backup holds and the independent checks that it is exact; then plays a failed upgrade and
// restores the node (files, reboot, cluster, redeploy), and checks it is back.
//   node scripts/run-ts.mjs scripts/demo.ts [--keep] [--seed N] [--binary PATH]
import { execa } from 'execa';
import { appendFile, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createSandboxNode, removeSandbox, STANDINS_DIR } from './sandbox/sandboxNode.js';
import { keysInSnapshot, keysWithPrefix, startEtcd } from './sandbox/etcd.js';

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

  say('Independent checks: rsync -aAXHc --modify-window=-1 --dry-run --itemize-changes finds nothing to change');
  for (const [tree, source] of [['etc', 'etc'], ['local', 'usr/local'], ['kubelet', 'var/lib/kubelet']]) {
    const run = await execa('rsync', ['-aAXHc', '--modify-window=-1', '--dry-run', '--itemize-changes', '--delete', `${path.join(root, source!)}/`, `${path.join(dir, tree!)}/`]);
    const changes = run.stdout.trim();
    console.log(`  /${source} vs ${tree}/: ${changes === '' ? 'identical' : `DIFFERENT:\n${changes}`}`);
    failed ||= changes !== '';
  }
  const keys = await keysInSnapshot(path.join(dir, 'cluster', summary.cluster.snapshot), path.join(work, 'restored-etcd'), '/kubernetes.io/demo/');
  console.log(`  etcdctl snapshot restore: ${Object.keys(keys).length} of 200 keys back`);
  failed ||= Object.keys(keys).length !== 200;
  console.log(`  ostree after the backup:\n${(await execa('ostree', ['admin', 'status', `--sysroot=${root}`])).stdout.replace(/^/gm, '    ')}`);

  say('A failed upgrade: files changed, added and removed in every tree, a new key in etcd');
  await appendFile(path.join(root, 'etc/hostname'), 'upgraded\n');
  await writeFile(path.join(root, 'etc/added-by-the-upgrade.conf'), 'x=1\n');
  await rm(path.join(root, 'usr/local/share/doc/README'));
  await rm(path.join(root, 'var/lib/kubelet/config.json'));
  await etcd.put('/kubernetes.io/demo/written-after-the-backup', 'x');

  // systemctl, crictl, crio, oc and setenforce cannot run here: the repo's stand-ins answer instead.
  const standins = path.join(STANDINS_DIR, 'bin');
  const state = await mkdtemp(path.join(work, 'standins-'));
  const env = { PATH: `${standins}:${process.env.PATH}`, STANDIN_STATE: state, STANDIN_LOG: path.join(state, 'calls.log') };
  const fast = ['--poll-interval', '0.05'];
  say(`upgrade-recovery restore --root ${root}   (files phase; the node's commands are stand-ins)`);
  const files = await execa(binary, ['restore', '--root', root, ...fast], { stdio: 'inherit', reject: false, env });
  if (files.exitCode !== 0) throw new Error(`restore exited ${files.exitCode}`);
  say('The reboot it asks for (played by the stand-ins), then: upgrade-recovery restore --resume');
  await execa(path.join(standins, 'standin-boot'), { env });
  await node.reboot();
  const rest = await execa(binary, ['restore', '--root', root, '--resume', ...fast], { stdio: 'inherit', reject: false, env });
  if (rest.exitCode !== 0) throw new Error(`restore --resume exited ${rest.exitCode}`);
  say('Independent checks after the restore');
  for (const [tree, source] of [['etc', 'etc'], ['local', 'usr/local'], ['kubelet', 'var/lib/kubelet']]) {
    const excludes = tree === 'etc' ? ['--exclude=/kubernetes/manifests-stopped', '--exclude=/kubernetes/manifests', '--exclude=/.updated'] : [];
    const run = await execa('rsync', ['-aAXHc', '--modify-window=-1', '--dry-run', '--itemize-changes', '--delete', ...excludes, `${path.join(dir, tree!)}/`, `${path.join(root, source!)}/`]);
    const changes = run.stdout.split('\n').filter((l) => l !== '' && l !== '.d..t...... kubernetes/');
    console.log(`  /${source} is ${changes.length === 0 ? 'exactly the backup again' : `STILL DIFFERENT:\n${changes.join('\n')}`}`);
    failed ||= changes.length !== 0;
  }
  const after = await keysWithPrefix(etcd.endpoint, '/kubernetes.io/demo/');
  console.log(`  etcd: ${Object.keys(after).length} keys, the one written after the backup ${'/kubernetes.io/demo/written-after-the-backup' in after ? 'is STILL THERE' : 'is gone'}`);
  failed ||= Object.keys(after).length !== 200;
  console.log(`  the stand-ins saw: ${(await readFile(path.join(state, 'calls.log'), 'utf8')).split('\n').filter((l) => /^(setenforce|systemctl|crio|crictl rmp|cluster-restore|oc patch)/.test(l)).map((l) => l.split(' ').slice(0, 3).join(' ')).join(', ')}`);
} catch (error) {
  failed = true;
  console.error(`demo failed: ${(error as Error).message}`);
} finally {
  await etcd.stop();
  if (values.keep) console.log(`\nThe sandbox is kept in ${work}`);
  else await removeSandbox(work);
}
say(failed ? 'Demo FAILED' : 'Demo done: the backup was complete, verified and exact, and the restore brought the node back');
process.exitCode = failed ? 1 : 0;
