/**
 * The port the retry layer asks before each AppFabric attempt, declared here by its consumer; the
 * fleet implements it (`FleetCallGate`, a hold and a rate shared through Redis). Without a gate every
 * attempt goes at once.
 */
export interface CallGate {
  /**
   * Resolves, with the time it lets the attempt go (the gate's clock), when an attempt may go out.
   * Waits out a hold of at most `MAX_HOLD_WAIT_MS`; a longer one refuses at once with `HeldByFleetError`
   * (nothing sent). Rejects with a deadline error when `deadline` aborts while waiting.
   */
  beforeAttempt(deadline: AbortSignal | undefined): Promise<number>;
  /**
   * AppFabric throttled an attempt that went out at `sentAt` (what `beforeAttempt` resolved with; now
   * when not given): hold every new attempt of the fleet for `retryAfterSeconds`, or the backoff.
   */
  throttled(retryAfterSeconds: number | undefined, sentAt?: number): void;
  /** How long (ms) new attempts are held from now, as far as this replica knows. */
  heldForMs(): number;
}

/** A hold this short is waited out; a longer one refuses at once, so that callers hear THROTTLED with a time. */
export const MAX_HOLD_WAIT_MS = 2_000;
