/**
 * Runs several async iterables at once and yields their items tagged with the source index, in arrival order.
 * If one source throws, the others are returned (cancelled) and the error propagates.
 */
export async function* mergeIndexed<T>(
  sources: readonly AsyncIterable<T>[],
): AsyncGenerator<{ index: number; item: T }> {
  if (sources.length === 1) {
    for await (const item of sources[0]!) yield { index: 0, item };
    return;
  }
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  type Step = { index: number; result: IteratorResult<T> };
  const pending = new Map<number, Promise<Step>>();
  const pull = (index: number): void => {
    pending.set(
      index,
      iterators[index]!.next().then((result) => ({ index, result })),
    );
  };
  for (let i = 0; i < iterators.length; i++) pull(i);
  try {
    while (pending.size > 0) {
      const { index, result } = await Promise.race(pending.values());
      if (result.done) {
        pending.delete(index);
        continue;
      }
      pull(index);
      yield { index, item: result.value };
    }
  } finally {
    await Promise.allSettled([...pending.keys()].map((i) => iterators[i]!.return?.()));
  }
}
