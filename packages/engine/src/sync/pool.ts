// A bounded pool for work that must all succeed (the parts of one upload): at most `limit` tasks at once, no new
// task after the first failure, and every started task settled before the failure is thrown, so nothing is
// still running when the caller cleans up.

export async function allLimited<T>(
  items: Iterable<T>,
  limit: number,
  task: (item: T, signal: AbortSignal) => Promise<void>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const failed = new AbortController();
  const combined = signal ? AbortSignal.any([signal, failed.signal]) : failed.signal;
  let failure: { error: unknown } | undefined;
  const running = new Set<Promise<void>>();
  for (const item of items) {
    if (failure || combined.aborted) break;
    const started: Promise<void> = task(item, combined)
      .catch((error: unknown) => {
        failure ??= { error };
        failed.abort(error);
      })
      .finally(() => running.delete(started));
    running.add(started);
    if (running.size >= limit) await Promise.race(running);
  }
  await Promise.all(running);
  signal?.throwIfAborted();
  if (failure) throw failure.error;
}
