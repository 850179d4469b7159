import { describe, expect, it } from 'vitest';
import { stepDurations } from '../../scripts/bench/measure.js';
import { pairedRatios, treeTimeMs } from '../../scripts/bench/report.js';
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
