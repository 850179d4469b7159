// Entry point of the single binary: run the CLI, nothing else.
import { runMain } from '../src/cli/main.js';

void runMain(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
