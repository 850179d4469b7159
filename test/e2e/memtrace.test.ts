// The development memory tracer (scripts/memtrace.cjs) loaded into the single binary through
// NODE_OPTIONS: it must survive the binary's re-execution and sample the process that does the work.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { processRunner } from '../../src/host/processRunner.js';
import { BINARY } from '../support/sandbox.js';

const TRACER = path.resolve(import.meta.dirname, '../../scripts/memtrace.cjs');
const kib = z.number().int().nonnegative();
const sampleSchema = z.object({
  t: z.number(),
  pid: z.number(),
  thread: z.number(),
  tuned: z.boolean(),
  rssKiB: kib,
  fileKiB: kib,
  anonKiB: kib,
  heapUsedKiB: kib,
  heapCommittedKiB: kib,
  externalKiB: kib,
  arrayBuffersKiB: kib,
});

describe('scripts/memtrace.cjs', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `command` with the tracer writing to a file of its own; its samples, checked. */
  async function traced(command: string, args: string[], env: Record<string, string>) {
    dir = mkdtempSync(path.join(os.tmpdir(), 'memtrace-'));
    const trace = path.join(dir, 'trace.jsonl');
    const result = await processRunner.run(command, args, { env: { ...env, UPGRADE_RECOVERY_MEMTRACE: trace }, timeoutMs: 30_000 });
    expect(result.exitCode, result.stderr).toBe(0);
    return readFileSync(trace, 'utf8').trim().split('\n').map((line) => sampleSchema.parse(JSON.parse(line)));
  }

  it('samples the main thread only, while a worker thread runs', async () => {
    const script = "import { Worker } from 'node:worker_threads'; const w = new Worker('setTimeout(() => {}, 200)', { eval: true }); await new Promise((r) => w.on('exit', r));";
    const samples = await traced(process.execPath, ['--require', TRACER, '--input-type=module', '-e', script], {});
    expect(samples.length).toBeGreaterThanOrEqual(3);
    expect(new Set(samples.map((s) => s.thread))).toEqual(new Set([0]));
  });

  it('samples the binary after its re-execution, with the heap options in force, in KiB', async () => {
    const samples = await traced(BINARY, ['--version'], { NODE_OPTIONS: `--require ${TRACER}` });
    // Loaded twice in one pid: before the re-execution, and in the process that runs the command,
    // which samples once more at exit.
    expect(new Set(samples.map((s) => s.pid)).size).toBe(1);
    expect(samples.map((s) => s.tuned)).toEqual([false, ...samples.slice(1).map(() => true)]);
    expect(samples.length).toBeGreaterThanOrEqual(3);
    for (const s of samples) {
      expect(s.rssKiB).toBeGreaterThan(10_000);
      expect(s.fileKiB + s.anonKiB).toBeGreaterThan(s.rssKiB - 1_000);
      expect(s.heapCommittedKiB).toBeGreaterThanOrEqual(s.heapUsedKiB);
      expect(s.arrayBuffersKiB).toBeLessThanOrEqual(s.externalKiB);
    }
  });
});
