// Entry point of the single binary: tune the heap (src/cli/heapTuning.ts), then run the CLI.
import { isSea } from 'node:sea';
import { keepHeapSmall, restoreEnvironment, smallHeapExec, type Collect } from '../src/cli/heapTuning.js';

const exec = smallHeapExec(process.execPath, process.argv, process.env, isSea());
// Does not return when it works; where execve is refused, the CLI simply runs with default heap.
if (exec) {
  try {
    process.execve!(exec.file, exec.args, exec.env);
  } catch {
    // Same binary, default heap: slower to collect, nothing else differs.
  }
}
restoreEnvironment(process.env);
keepHeapSmall((globalThis as { gc?: Collect }).gc, () => {
  const { heapUsed, heapTotal, external } = process.memoryUsage();
  return { inUse: heapUsed + external, committed: heapTotal };
});

// `upgrade-recovery --help | head` closes the pipe early: that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exitCode ??= 0;
  else throw error;
});

// Loaded only now: a process about to be replaced by execve would load the whole CLI for nothing.
void import('../src/cli/main.js').then(({ runMain }) =>
  runMain(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  }),
);
