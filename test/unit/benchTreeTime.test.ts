import { describe, expect, it } from 'vitest';
import { stepDurations } from '../../scripts/bench/measure.js';
import { cpuTable, pairedRatios, summarise, timeTable, treeTimeMs } from '../../scripts/bench/report.js';
import { measurementOnly } from '../../scripts/bench/benchmarks.js';

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
const line = (event: string, step: string, ms: number) => JSON.stringify({ time: at(ms), event, step });

describe("the bench's time for our tree steps", () => {
  // A backup: copies run from cluster-health's end; each tree step only records its manifest.
  const stdout = [
    line('stepStart', 'cluster-health', 0),
    line('stepEnd', 'cluster-health', 100),
    line('stepStart', 'cluster', 100),
    line('stepEnd', 'cluster', 900),
    line('stepStart', 'local', 1500),
    line('stepEnd', 'local', 1510),
    line('stepStart', 'etc', 2000),
    line('stepEnd', 'etc', 2030),
  ].join('\n');

  it('records when each step ended', () => {
    const { steps, ends } = stepDurations(stdout);
    expect(steps).toMatchObject({ 'cluster-health': 100, cluster: 800, local: 10, etc: 30 });
    expect(ends.etc! - ends['cluster-health']!).toBe(1930);
  });

  it('is the span from the step named to the last tree step, or else the sum of the tree steps', () => {
    // As the rounds keep it: the figures without the output.
    const sample = measurementOnly({ wallMs: 2100, peakRssKiB: 1, ...stepDurations(stdout) });
    expect(treeTimeMs(sample, ['etc', 'local', 'kubelet'], 'cluster-health')).toBe(1930);
    expect(treeTimeMs(sample, ['etc', 'local', 'kubelet'])).toBe(40);
    // No end for the step named (an older run's JSON): the sum.
    expect(treeTimeMs(sample, ['etc', 'local'], 'space')).toBe(40);
  });
});

describe("the bench's ratios", () => {
  it('are the median of the rounds paired in order, not the ratio of the medians', () => {
    // The machine slowed down in round 2 and stayed slow: the medians' ratio would say 1/6.
    const ours = [1000, 3000, 1000];
    const old = [2000, 6000, 6000];
    expect(pairedRatios(ours, old)).toEqual({ median: 0.5, range: [1 / 6, 0.5] });
    // The lowest and highest pair; rounds without an old round beside them are left out.
    expect(pairedRatios([100, 300, 200, 999], [200, 200, 200])).toEqual({ median: 1, range: [0.5, 1.5] });
    expect(pairedRatios([100], [])).toBeNull();
  });
});

describe("the old method's follow-up (cp -a, then a SHA-256 of its copy)", () => {
  const ours = [3000, 4000, 5000].map((wallMs) => ({ wallMs, peakRssKiB: 1, cpuMs: 6000 }));
  const old = [
    { wallMs: 1000, peakRssKiB: 1, cpuMs: 1000, followUp: { wallMs: 2000, cpuMs: 1900 } },
    { wallMs: 2000, peakRssKiB: 1, cpuMs: 1500, followUp: { wallMs: 3000, cpuMs: 2900 } },
    { wallMs: 1000, peakRssKiB: 1, cpuMs: 1000, followUp: { wallMs: 4000, cpuMs: 3900 } },
  ];
  const benchmark = { treeSteps: ['etc'], followUpLabel: 'cp -a, then openssl sha256' };

  it('is added to each old round for an information line, and the verdict stays on the old method alone', () => {
    const row = summarise({ name: 'backup', cache: 'warm', ours, old }, benchmark);
    // Judged: ours over cp -a alone, round by round (3, 2, 5).
    expect(row.ratio).toBe(3);
    expect(row.verdict).toBe('FAIL');
    // Information: ours over cp -a plus the hash of its copy, round by round (1, 0.8, 1).
    expect(row.withFollowUp).toEqual({ label: 'cp -a, then openssl sha256', oldMedianS: 5, ratio: 1, ratioRange: [0.8, 1], oldCpuMedianS: 4.4 });
    expect(timeTable([row])).toMatch(/ {2}vs cp -a, then openssl sha256 +warm +4\.00 s +5\.00 s +1\.00x +0\.80-1\.00 +\(info\)/);
    expect(cpuTable([row], 2)).toMatch(/ {2}vs cp -a, then openssl sha256 +warm +6\.00 s +4\.40 s +1\.36x/);
  });

  it('has no line when an old round lacks it or nothing names it', () => {
    const partial = [...old.slice(0, 2), { wallMs: 1000, peakRssKiB: 1 }];
    expect(summarise({ name: 'backup', cache: 'warm', ours, old: partial }, benchmark).withFollowUp).toBeNull();
    expect(summarise({ name: 'backup', cache: 'warm', ours, old }, { treeSteps: ['etc'] }).withFollowUp).toBeNull();
    expect(timeTable([summarise({ name: 'backup', cache: 'warm', ours, old }, { treeSteps: ['etc'] })])).not.toMatch(/openssl/);
  });

  it('is kept when a round is stripped of its output', () => {
    expect(measurementOnly({ ...old[0]!, stdout: 'x' } as Parameters<typeof measurementOnly>[0]).followUp).toEqual({ wallMs: 2000, cpuMs: 1900 });
  });
});
