/**
 * Bounded concurrency, in one place. Every started call settles before the returned promise
 * does, so a caller rolling back after a failure sees every completed call; the first failure
 * stops new calls and is the one thrown.
 */

/** Calls `fn` for each item of a (possibly async) iterable with at most `limit` in flight. */
export async function forEachLimit<T>(
  items: Iterable<T> | AsyncIterable<T>,
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let index = 0;
  try {
    for await (const item of items) {
      const task: Promise<void> = fn(item, index++)
        .catch((error: unknown) => {
          failure ??= { error };
        })
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
      if (inFlight.size >= limit) await Promise.race(inFlight);
      if (failure) break;
    }
  } finally {
    await Promise.all(inFlight);
  }
  if (failure) throw failure.error;
}

/** `items.map(fn)` with at most `limit` calls in flight. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  await forEachLimit(items, limit, async (item, index) => {
    results[index] = await fn(item, index);
  });
  return results;
}

/**
 * `items.map(fn)` as an ordered stream with at most `window` calls in flight: results come out
 * in input order, and only the window's results are ever held.
 */
export async function* mapOrdered<T, R>(
  items: readonly T[],
  window: number,
  fn: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const pending: Array<Promise<R>> = [];
  let next = 0;
  const fill = () => {
    while (pending.length < window && next < items.length) {
      const started = fn(items[next++]!);
      // Rejections are handled when their turn comes; this only keeps an early one from
      // counting as unhandled while an earlier item is awaited (or after the consumer stopped).
      started.catch(() => {});
      pending.push(started);
    }
  };
  fill();
  while (pending.length > 0) {
    const result = await pending.shift()!;
    fill();
    yield result;
  }
}
