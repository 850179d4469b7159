import type { FailureKind } from '../core/errors.js';

/** Documented in the README ("Exit codes"); the only mapping from outcomes to process exit codes. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  precondition: 3,
  interrupted: 4,
  /** A restore completed, but the node is not healthy yet (its report says what is wrong). */
  unhealthy: 5,
  /** Stopped by the operator (Ctrl-C): 128 + SIGINT. */
  cancelled: 130,
} as const;

export function exitCodeFor(kind: FailureKind): number {
  return EXIT[kind];
}
