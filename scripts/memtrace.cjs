// Development aid: samples a running upgrade-recovery's memory, to see what a peak is made of.
//   UPGRADE_RECOVERY_MEMTRACE=/tmp/trace.jsonl NODE_OPTIONS="--require $PWD/scripts/memtrace.cjs" \
//     dist/upgrade-recovery restore ...
// The binary keeps NODE_OPTIONS through its re-execution (src/cli/heapTuning.ts), so the tracer
// runs in the process that does the work, and gives it back to commands it starts. One JSON line
// per sample (every UPGRADE_RECOVERY_MEMTRACE_MS, 50 by default, and one at exit), in KiB: VmRSS
// and its file-backed part (the binary's own pages) and anonymous part, V8's heap (used,
// committed) and the memory outside it (external, of which ArrayBuffers); `tuned` once the binary
// runs with its heap options; `t`, the wall clock in ms, to line up with the steps' times of
// --json output. Not part of the product: nothing in src/ loads it.
'use strict';
const { appendFileSync, readFileSync } = require('node:fs');
const { isMainThread, threadId } = require('node:worker_threads');

const file = process.env.UPGRADE_RECOVERY_MEMTRACE;
// Preloads run in worker threads too: their heaps are their own, the process is sampled once.
if (file && isMainThread) {
  const every = Number(process.env.UPGRADE_RECOVERY_MEMTRACE_MS ?? 50);
  const kib = (bytes) => Math.round(bytes / 1024);
  const statusKiB = (status, key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  const sample = () => {
    const status = readFileSync('/proc/self/status', 'utf8');
    const { heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
    const line = {
      t: Date.now(),
      pid: process.pid,
      thread: threadId,
      // With the binary's heap options (after its re-execution), gc() is exposed.
      tuned: typeof globalThis.gc === 'function',
      rssKiB: statusKiB(status, 'VmRSS'),
      fileKiB: statusKiB(status, 'RssFile'),
      anonKiB: statusKiB(status, 'RssAnon'),
      heapUsedKiB: kib(heapUsed),
      heapCommittedKiB: kib(heapTotal),
      externalKiB: kib(external),
      arrayBuffersKiB: kib(arrayBuffers),
    };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  };
  sample();
  setInterval(sample, every).unref();
  process.on('exit', sample);
}
