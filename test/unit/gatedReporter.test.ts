import { describe, expect, it } from 'vitest';
import { GatedReporter, RecordingReporter } from '../../src/core/reporter.js';

describe('GatedReporter', () => {
  it('passes every kind of event on until closed, then drops them all', () => {
    const inner = new RecordingReporter();
    const gate = new GatedReporter(inner);
    gate.stepStart('etc', 'Copy /etc');
    gate.progress({ component: 'etc', activity: 'copy', files: 1, bytes: 2 });
    gate.info('note');
    gate.warn('careful');
    gate.stepEnd('etc', 'done', '2 B');
    gate.close();
    gate.stepStart('local', 'Copy /usr/local');
    gate.progress({ component: 'local', activity: 'copy', files: 1, bytes: 2 });
    gate.info('late');
    gate.warn('late');
    gate.stepEnd('local', 'failed');
    expect(inner.events.map((e) => e.type)).toEqual(['stepStart', 'progress', 'info', 'warn', 'stepEnd']);
    expect(inner.events.every((e) => e.step === undefined || e.step === 'etc')).toBe(true);
  });
});
