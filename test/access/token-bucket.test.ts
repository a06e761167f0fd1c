import { RateLimiter, TokenBucket } from '../../src/modules/access/token-bucket';

describe('TokenBucket', () => {
  // [perSecond, burst, request times in ms, expected waits in ms]
  const cases: Array<[string, number, number, number[], number[]]> = [
    ['a full bucket serves a burst, then refuses', 2, 3, [0, 0, 0, 0], [0, 0, 0, 500]],
    ['tokens come back at the rate', 2, 3, [0, 0, 0, 500, 500], [0, 0, 0, 0, 500]],
    ['a quiet period refills up to the burst, no more', 10, 2, [0, 0, 10_000, 10_000, 10_000], [0, 0, 0, 0, 100]],
    ['the wait shrinks as time passes', 1, 1, [0, 0, 250, 999, 1000], [0, 1000, 750, 1, 0]],
  ];
  it.each(cases)('%s', (_name, perSecond, burst, times, waits) => {
    const bucket = new TokenBucket(perSecond, burst, 0);
    expect(times.map((t) => bucket.take(t))).toEqual(waits);
  });
});

describe('RateLimiter', () => {
  it('keeps one bucket per key, with the key\'s own rate or the defaults', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 1, burst: 1 }, () => now);
    expect([limiter.take('a'), limiter.take('a')]).toEqual([0, 1000]);
    expect(limiter.take('b')).toBe(0);
    expect([limiter.take('c', { perSecond: 100, burst: 2 }), limiter.take('c', { perSecond: 100, burst: 2 }), limiter.take('c', { perSecond: 100, burst: 2 })]).toEqual([0, 0, 10]);
    now = 1000;
    expect(limiter.take('a')).toBe(0);
  });
});
