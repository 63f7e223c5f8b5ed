interface PendingCall<TItem, TResult> {
  item: TItem;
  resolve(result: TResult): void;
  reject(error: unknown): void;
}

/**
 * Gathers the calls made during one turn of the event loop and runs them as one batch (or
 * several of at most `maxBatchSize` items), instead of one round of work per call. Each call
 * still settles on its own: with its item's result, with its item's `Error`, or with the error
 * of the whole batch.
 *
 * The batch starts once the turn's callbacks and promise jobs are done (`setImmediate`), so the
 * work a read batch sets off in one go travels together, at the cost of that one turn.
 */
export function batchPerTick<TItem, TResult>(
  runBatch: (items: TItem[]) => Promise<ReadonlyArray<TResult | Error>>,
  maxBatchSize: number,
): (item: TItem) => Promise<TResult> {
  let pending: Array<PendingCall<TItem, TResult>> = [];

  function settle(calls: Array<PendingCall<TItem, TResult>>): void {
    runBatch(calls.map((call) => call.item)).then(
      (results) => {
        calls.forEach((call, index) => {
          const result = results[index];
          if (index >= results.length) call.reject(new Error("the batch returned no result"));
          else if (result instanceof Error) call.reject(result);
          else call.resolve(result as TResult);
        });
      },
      (error: unknown) => {
        for (const call of calls) call.reject(error);
      },
    );
  }

  function flush(): void {
    const calls = pending;
    pending = [];
    for (let start = 0; start < calls.length; start += maxBatchSize) {
      settle(calls.slice(start, start + maxBatchSize));
    }
  }

  return (item) =>
    new Promise<TResult>((resolve, reject) => {
      if (pending.length === 0) setImmediate(flush);
      pending.push({ item, resolve, reject });
    });
}
