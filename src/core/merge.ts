export interface Indexed<T> {
  index: number;
  item: T;
}

/** An async iterator that can be closed early (closing it closes every source). */
export interface IndexedIterator<T> extends AsyncIterableIterator<Indexed<T>> {
  return(): Promise<IteratorResult<Indexed<T>>>;
}

/**
 * Runs several async iterables at once and yields their items tagged with the source index, in arrival order.
 * If one source throws, the others are returned (cancelled) and the error propagates. A single source is
 * wrapped without an async generator: this sits on every token's path, and a generator frame per token costs.
 */
export function mergeIndexed<T>(sources: readonly AsyncIterable<T>[]): IndexedIterator<T> {
  if (sources.length !== 1) {
    const many = mergeMany(sources);
    const iterator: IndexedIterator<T> = {
      next: () => many.next(),
      return: () => many.return(undefined),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
  const inner = sources[0]![Symbol.asyncIterator]();
  const done: IteratorResult<Indexed<T>> = { done: true, value: undefined };
  const iterator = {
    next: (): Promise<IteratorResult<Indexed<T>>> =>
      inner.next().then((r) => (r.done ? done : { done: false, value: { index: 0, item: r.value } })),
    return: async (): Promise<IteratorResult<Indexed<T>>> => {
      await inner.return?.();
      return done;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

async function* mergeMany<T>(sources: readonly AsyncIterable<T>[]): AsyncGenerator<Indexed<T>> {
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
