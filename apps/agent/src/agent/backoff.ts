// How long the agent waits before asking the portal again. Idle polls are spread with jitter so a fleet restarted
// at once does not call in lockstep; while the portal is unreachable the wait doubles per failure up to a ceiling,
// with "full jitter" (a random share of the doubled wait) so thousands of agents do not return together.

export type BackoffPolicy = {
  /** The idle poll interval. */
  intervalMs: number;
  /** ± this share of the interval is added at random to idle polls. */
  jitter: number;
  /** The first wait after a failure, doubled per further failure. */
  failureBaseMs: number;
  /** The longest wait while the portal stays unreachable. */
  failureMaxMs: number;
};

export const defaultBackoff: Omit<BackoffPolicy, "intervalMs"> = {
  jitter: 0.2,
  failureBaseMs: 1000,
  failureMaxMs: 5 * 60_000,
};

/** The wait before the next poll after `failures` failed attempts in a row (0: the last one succeeded). */
export function nextPollDelay(policy: BackoffPolicy, failures: number, random: () => number = Math.random): number {
  if (failures <= 0) {
    const spread = policy.intervalMs * policy.jitter;
    return Math.max(0, Math.round(policy.intervalMs - spread + 2 * spread * random()));
  }
  const ceiling = Math.min(policy.failureMaxMs, policy.failureBaseMs * 2 ** Math.min(failures - 1, 30));
  // Never less than half the ceiling, so a run of bad luck cannot hammer a struggling server.
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
