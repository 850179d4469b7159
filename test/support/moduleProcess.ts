// Runs a script in a Node process of its own that imports one of our modules (Node strips the
// module's types): for what only shows once a process ends, such as what it leaves running. Our
// modules import each other as `./x.js` (TypeScript's NodeNext rule), which Node alone would not
// find: a resolve hook tries `./x.ts` for a relative `.js` that is not there.
import { processRunner } from '../../src/host/processRunner.js';
import type { CommandResult } from '../../src/host/ports.js';

/** `imports` from `src/<module>.ts`, then `body`, Node given `nodeOptions`; ended if it takes more than 10 s. */
export function runImporting(module: string, imports: string, body: string, nodeOptions: readonly string[] = []): Promise<CommandResult> {
  const url = new URL(`../../src/${module}.ts`, import.meta.url).href;
  const script = [
    `import { registerHooks } from 'node:module';`,
    `registerHooks({ resolve(specifier, context, next) {`,
    `  try { return next(specifier, context); } catch (error) {`,
    `    if (!specifier.startsWith('.') || !specifier.endsWith('.js')) throw error;`,
    `    return next(specifier.slice(0, -3) + '.ts', context);`,
    `  }`,
    `} });`,
    // Imported after the hook is in place (a static import would be loaded before it).
    `const { ${imports} } = await import('${url}');`,
    body,
  ].join('\n');
  return processRunner.run(process.execPath, [...nodeOptions, '--input-type=module', '-e', script], { timeoutMs: 10_000 });
}
