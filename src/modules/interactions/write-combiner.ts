/**
 * Single writes of one API key that arrive while earlier ones are being stored, written together.
 *
 * A lone call goes straight to the database, as it would without the combiner: nothing waits for
 * company. When `maxInFlight` writes of the key are already running, the calls that arrive queue,
 * and the next write takes up to `maxItems` of them at once: one transaction, one statement of
 * rows and one commit for all of them, each call still answered with its own outcome or error.
 * Under load this is what lets single writes share the fixed cost of a transaction (its round
 * trips, its commit's flush) the way a batch does, at the price of waiting for one write at most.
 */
export interface CombinerOptions {
  /** Calls written together at most (1: every call is written alone). */
  maxItems: number;
  /** Writes of one key running at once before calls queue. */
  maxInFlight: number;
}

/** One call's result: its outcome, or the error it fails with. */
export type Settled<R> = { outcome: R } | { error: unknown };

interface Waiting<T, R> {
  call: T;
  resolve(outcome: R): void;
  reject(error: unknown): void;
}

interface Lane<T, R> {
  waiting: Waiting<T, R>[];
  inFlight: number;
}

export class WriteCombiner<T, R> {
  private readonly lanes = new Map<string, Lane<T, R>>();

  /**
   * `write` stores the calls of one key together and settles each of them: it never throws for
   * them (an error is a call's `error`), and gives one result per call, in order.
   */
  constructor(
    private readonly options: CombinerOptions,
    private readonly write: (key: string, calls: T[]) => Promise<Array<Settled<R>>>,
  ) {}

  submit(key: string, call: T): Promise<R> {
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { waiting: [], inFlight: 0 }));
    const settled = new Promise<R>((resolve, reject) => lane!.waiting.push({ call, resolve, reject }));
    this.drain(key, lane);
    return settled;
  }

  /** Calls waiting for a write, over every key. */
  get queued(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.waiting.length;
    return n;
  }

  private drain(key: string, lane: Lane<T, R>): void {
    while (lane.inFlight < this.options.maxInFlight && lane.waiting.length > 0) {
      const taken = lane.waiting.splice(0, this.options.maxItems);
      lane.inFlight++;
      void this.run(key, taken).finally(() => {
        lane.inFlight--;
        if (lane.inFlight === 0 && lane.waiting.length === 0) this.lanes.delete(key);
        else this.drain(key, lane);
      });
    }
  }

  private async run(key: string, taken: Waiting<T, R>[]): Promise<void> {
    let results: Array<Settled<R>>;
    try {
      results = await this.write(
        key,
        taken.map((w) => w.call),
      );
    } catch (err) {
      for (const w of taken) w.reject(err);
      return;
    }
    taken.forEach((w, i) => {
      const result = results[i];
      if (!result) w.reject(new Error('the combined write gave no result for a call'));
      else if ('error' in result) w.reject(result.error);
      else w.resolve(result.outcome);
    });
  }
}
