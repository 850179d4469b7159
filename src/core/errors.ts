/** Why a command stopped, as the CLI maps it onto an exit code (see src/cli/exitCodes.ts). */
export type FailureKind =
  /** Something went wrong while working; the node may need attention. */
  | 'failure'
  /** A check before any change refused to go on (space, lock, restore in progress...). */
  | 'precondition'
  /** Bad flags or arguments. */
  | 'usage'
  /** Stopped part-way in a state the next run can resume. */
  | 'interrupted'
  /** The restore is complete but the cluster is not healthy (see the health report). */
  | 'unhealthy';

/** An expected failure: a one-line message for the operator and, when there is one, the next command. */
export class RecoveryError extends Error {
  readonly kind: FailureKind;
  readonly next?: string;

  constructor(kind: FailureKind, message: string, next?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RecoveryError';
    this.kind = kind;
    if (next !== undefined) this.next = next;
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
