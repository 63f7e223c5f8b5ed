/** Options of {@link createTickBatcher}. */
export interface TickBatcherOptions<TItem> {
  /** Most items one `send` gets, so that no call holds Redis for long. Default 100. */
  maxItems?: number;
  /**
   * Items of different groups never share a `send`: with Redis Cluster, one script call must
   * stay within one hash slot (see {@link hashTagOf}). Default: one group.
   */
  groupOf?: (item: TItem) => string;
}

/**
 * Sends several items at once and answers each: its result, or an error for that item alone,
 * in the order of `items`. A rejection fails every item of the call.
 */
export type SendBatch<TItem, TResult> = (items: TItem[]) => Promise<Array<TResult | Error>>;

interface Queued<TItem, TResult> {
  item: TItem;
  resolve(result: TResult): void;
  reject(error: Error): void;
}

/**
 * Collects the items submitted in one turn of the event loop and sends them together. A read
 * batch's handlers are woken by the same socket reads, so their Redis calls arrive in the same
 * turn: one script call for all of them instead of one each. Each caller still gets its own
 * result or error.
 */
export function createTickBatcher<TItem, TResult>(
  send: SendBatch<TItem, TResult>,
  options: TickBatcherOptions<TItem> = {},
): (item: TItem) => Promise<TResult> {
  const { maxItems = 100, groupOf } = options;
  let queue: Array<Queued<TItem, TResult>> = [];

  async function sendAndAnswer(batch: Array<Queued<TItem, TResult>>): Promise<void> {
    try {
      const results = await send(batch.map((queued) => queued.item));
      batch.forEach((queued, index) => {
        const result = results[index];
        if (result instanceof Error) queued.reject(result);
        else if (index >= results.length) queued.reject(new Error("no result for this item"));
        else queued.resolve(result as TResult);
      });
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const queued of batch) queued.reject(failure);
    }
  }

  function flush(): void {
    const groups = new Map<string, Array<Queued<TItem, TResult>>>();
    for (const queued of queue) {
      const group = groupOf?.(queued.item) ?? "";
      const members = groups.get(group);
      if (members) members.push(queued);
      else groups.set(group, [queued]);
    }
    queue = [];
    for (const members of groups.values()) {
      for (let start = 0; start < members.length; start += maxItems) {
        void sendAndAnswer(members.slice(start, start + maxItems));
      }
    }
  }

  return (item) =>
    new Promise<TResult>((resolve, reject) => {
      // setImmediate, not a microtask: it runs after every handler woken by the same socket
      // read has made its call.
      if (queue.length === 0) setImmediate(flush);
      queue.push({ item, resolve, reject });
    });
}

/**
 * The part of a key Redis Cluster hashes: the first non-empty `{…}`, else the whole key. Keys
 * laid out by `createKeys` share their tag with every key one atomic step touches.
 */
export function hashTagOf(key: string): string {
  const open = key.indexOf("{");
  if (open === -1) return key;
  const close = key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}
