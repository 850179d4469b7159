import { describe, expect, it } from 'vitest';
import type { Ora } from 'ora';
import { TextReporter } from '../../src/ui/textReporter.js';

/** A stream that keeps what is written, and a spinner factory that records what it is asked. */
function setup(interactive: boolean) {
  const written: string[] = [];
  const stream = { write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
  const spinnerCalls: string[] = [];
  const spinner = ({ text }: { text: string }) => {
    spinnerCalls.push(`start ${text}`);
    const fake = {
      isSpinning: true,
      text,
      start: () => fake,
      succeed: (line: string) => spinnerCalls.push(`succeed ${line}`),
      fail: (line?: string) => spinnerCalls.push(`fail ${line ?? '(its title)'}`),
      info: (line: string) => spinnerCalls.push(`info ${line}`),
      clear: () => undefined,
      render: () => undefined,
    };
    return fake as unknown as Ora;
  };
  const at = new Date('2026-12-01T10:00:00Z');
  const reporter = new TextReporter({ stream, now: () => at, ...(interactive ? { spinner } : {}) });
  return { reporter, written, spinnerCalls };
}

describe('TextReporter', () => {
  it('shows a step as a spinner on a terminal, and ends it with the outcome', () => {
    const { reporter, written, spinnerCalls } = setup(true);
    reporter.stepStart('etc', 'Copy /etc');
    reporter.stepEnd('etc', 'done', '3 files');
    expect(spinnerCalls).toEqual(['start Copy /etc', 'succeed etc: done (3 files) in 0:00']);
    // The spinner draws the step: nothing else is printed for it.
    expect(written).toEqual([]);
  });

  it('ends the spinner of a step that threw (no stepEnd) before the closing lines', () => {
    const { reporter, written, spinnerCalls } = setup(true);
    reporter.stepStart('preflight', 'Check the node');
    reporter.finish(['error: no /etc', 'Next: fix it']);
    expect(spinnerCalls).toEqual(['start Check the node', 'fail (its title)']);
    expect(written).toEqual(['error: no /etc\n', 'Next: fix it\n']);
  });

  it('never makes a spinner elsewhere: timestamped lines only', () => {
    const { reporter, written, spinnerCalls } = setup(false);
    reporter.stepStart('etc', 'Copy /etc');
    reporter.stepEnd('etc', 'failed');
    expect(spinnerCalls).toEqual([]);
    expect(written).toEqual(['2026-12-01T10:00:00.000Z Copy /etc ...\n', '2026-12-01T10:00:00.000Z etc: failed\n']);
  });
});
