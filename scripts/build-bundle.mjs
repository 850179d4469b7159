// Bundle the CLI and all its dependencies into one CommonJS file, dist/upgrade-recovery.cjs.
// CJS because Node's single-executable (SEA) main script must be CommonJS and can only
// require() built-in modules, so nothing may stay outside the bundle.
import { readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
export const bundlePath = `${root}dist/upgrade-recovery.cjs`;

export async function buildBundle() {
  const { version } = JSON.parse(await readFile(`${root}package.json`, 'utf8'));
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['bin/upgrade-recovery.ts'],
    outfile: bundlePath,
    bundle: true, // no `external`: commander, chalk, ora, execa, zod, fs-extra, tar all go in
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    logLevel: 'warning',
    define: {
      __UPGRADE_RECOVERY_VERSION__: JSON.stringify(version), // read by src/cli/version.ts
      // Output is CJS, where esbuild would turn import.meta into `{}`. No current dependency
      // uses it at run time, but if one ever does it gets a real file URL instead of undefined.
      'import.meta.url': '__importMetaUrl',
    },
    banner: { js: 'const __importMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  });
  // Treat warnings as errors: a dynamic require() or similar would break inside the SEA.
  if (result.warnings.length > 0) throw new Error(`esbuild reported ${result.warnings.length} warning(s), see above`);
  return { bundlePath, version };
}

// Run when called directly (npm run build:bundle), not when imported by build-binary.mjs.
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { version } = await buildBundle();
  console.log(`bundle: ${bundlePath} (version ${version})`);
}
