// Runs a script in a Node process of its own that imports one of our modules (Node strips the
// module's types): for what only shows once a process ends, such as what it leaves running.
import { processRunner } from '../../src/host/processRunner.js';
import type { CommandResult } from '../../src/host/ports.js';

/** `imports` from `src/<module>.ts`, then `body`, Node given `nodeOptions`; ended if it takes more than 10 s. */
export function runImporting(module: string, imports: string, body: string, nodeOptions: readonly string[] = []): Promise<CommandResult> {
  const url = new URL(`../../src/${module}.ts`, import.meta.url).href;
  const script = `import { ${imports} } from '${url}';\n${body}`;
  return processRunner.run(process.execPath, [...nodeOptions, '--input-type=module', '-e', script], { timeoutMs: 10_000 });
}
