/**
 * A token bucket: `burst` tokens at most, refilled at `perSecond`. Each request takes one; a
 * request that finds the bucket empty is refused and told how long until a token is back.
 * Pure (the clock is passed in), so it is tested without waiting.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  /** Takes one token: 0 when granted, else the milliseconds until one is available. */
  take(now: number): number {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    // The epsilon keeps float noise (0.999 tokens giving 1.0000000000000009 ms) from adding a millisecond.
    return Math.max(1, Math.ceil(((1 - this.tokens) / this.perSecond) * 1000 - 1e-6));
  }

  /** True once the bucket is full again: it can be forgotten without changing any answer. */
  full(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.updatedAt) / 1000;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.perSecond);
    this.updatedAt = now;
  }
}

export interface RateLimitSettings {
  perSecond: number;
  burst: number;
}

/**
 * One bucket per API key, in this process's memory: with N instances behind a load balancer a
 * key gets up to N times its rate (see README, Limits). Full buckets are dropped now and then, so
 * memory follows the keys in use, not every key ever seen.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private sweptAt = 0;

  constructor(
    private readonly defaults: RateLimitSettings,
    private readonly clock: () => number = Date.now,
  ) {}

  /** 0 when the key may go on, else the milliseconds to wait (the Retry-After). */
  take(keyId: string, own?: Partial<RateLimitSettings> | null): number {
    const now = this.clock();
    const perSecond = own?.perSecond ?? this.defaults.perSecond;
    const burst = own?.burst ?? this.defaults.burst;
    let bucket = this.buckets.get(keyId);
    if (!bucket || bucket.perSecond !== perSecond || bucket.burst !== burst) {
      bucket = new TokenBucket(perSecond, burst, now);
      this.buckets.set(keyId, bucket);
    }
    if (now - this.sweptAt > 60_000) this.sweep(now);
    return bucket.take(now);
  }

  private sweep(now: number): void {
    this.sweptAt = now;
    for (const [id, bucket] of this.buckets) if (bucket.full(now)) this.buckets.delete(id);
  }
}
