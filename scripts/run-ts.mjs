// Runs one of the project's TypeScript scripts (demo, sandbox generator, bench) on Node 24:
// esbuild bundles it to ESM in node_modules/.cache (dependencies stay external), then it is
// imported with the remaining arguments. Node's own type stripping cannot follow our `.js`
// import specifiers to `.ts` files, so a build step is needed.
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs <script.ts> [args...]');
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = path.join(root, 'node_modules/.cache/run-ts', `${path.basename(entry, '.ts')}.mjs`);
await build({
  absWorkingDir: root,
  entryPoints: [path.resolve(entry)],
  outfile,
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node24',
  logLevel: 'warning',
});
process.argv = [process.argv[0], path.resolve(entry), ...args];
await import(pathToFileURL(outfile).href);
