// Entry point of the single binary: run the CLI, nothing else.
import { runMain } from '../src/cli/main.js';

// `upgrade-recovery --help | head` closes the pipe early: that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exitCode ??= 0;
  else throw error;
});

void runMain(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
