// The bench's measure of one command, on real processes under GNU time: wall time, and the CPU of
// the command with its children (what tells a command that works from one that waits).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { timedShell } from '../../scripts/bench/measure.js';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'bench-measure-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const options = () => ({ signal: new AbortController().signal, timeoutMs: 30_000, scratch });

describe("the bench's measure of a command", () => {
  it("counts the CPU of a command's children, and none for a command that only waits", async () => {
    // Two busy children in the background, waited for: both are counted.
    const busy = await timedShell("for n in 1 2; do (i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done) & done; wait", options());
    const one = await timedShell('i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done', options());
    expect(one.cpuMs).toBeGreaterThan(100);
    expect(busy.cpuMs).toBeGreaterThan(one.cpuMs! * 1.5);
    expect(busy.peakRssKiB).toBeGreaterThan(0);
    const idle = await timedShell('sleep 0.4', options());
    expect(idle.wallMs).toBeGreaterThanOrEqual(400);
    expect(idle.cpuMs).toBeLessThan(100);
  });
});
