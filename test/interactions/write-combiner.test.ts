import { WriteCombiner, type Settled } from '../../src/modules/interactions/write-combiner';

/** A write that records what it was given and is finished by hand. */
function controlledWrite() {
  const writes: Array<{ key: string; calls: string[]; finish(results?: Array<Settled<string>>): void; fail(err: Error): void }> = [];
  const write = (key: string, calls: string[]) =>
    new Promise<Array<Settled<string>>>((resolve, reject) => {
      writes.push({ key, calls, finish: (results) => resolve(results ?? calls.map((c) => ({ outcome: `stored ${c}` }))), fail: reject });
    });
  return { writes, write };
}
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('WriteCombiner', () => {
  it('writes a lone call at once, alone', async () => {
    const { writes, write } = controlledWrite();
    const combiner = new WriteCombiner({ maxItems: 16, maxInFlight: 1 }, write);
    const a = combiner.submit('k', 'a');
    expect(writes.map((w) => w.calls)).toEqual([['a']]);
    writes[0].finish();
    await expect(a).resolves.toBe('stored a');
  });

  it('queues the calls that arrive while the key has maxInFlight writes running, and writes them together, maxItems at a time', async () => {
    const { writes, write } = controlledWrite();
    const combiner = new WriteCombiner({ maxItems: 3, maxInFlight: 2 }, write);
    const results = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((c) => combiner.submit('k', c));
    expect(writes.map((w) => w.calls)).toEqual([['a'], ['b']]);
    expect(combiner.queued).toBe(5);
    writes[0].finish();
    await tick();
    expect(writes.map((w) => w.calls)).toEqual([['a'], ['b'], ['c', 'd', 'e']]);
    writes[1].finish();
    await tick();
    expect(writes.map((w) => w.calls)).toEqual([['a'], ['b'], ['c', 'd', 'e'], ['f', 'g']]);
    writes[2].finish();
    writes[3].finish();
    await expect(Promise.all(results)).resolves.toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((c) => `stored ${c}`));
    expect(combiner.queued).toBe(0);
  });

  it('never writes the calls of two keys together', async () => {
    const { writes, write } = controlledWrite();
    const combiner = new WriteCombiner({ maxItems: 10, maxInFlight: 1 }, write);
    const results = [combiner.submit('k1', 'a'), combiner.submit('k2', 'b'), combiner.submit('k1', 'c'), combiner.submit('k2', 'd'), combiner.submit('k1', 'e')];
    expect(writes.map((w) => [w.key, w.calls])).toEqual([
      ['k1', ['a']],
      ['k2', ['b']],
    ]);
    writes[0].finish();
    writes[1].finish();
    await tick();
    expect(writes.slice(2).map((w) => [w.key, w.calls])).toEqual([
      ['k1', ['c', 'e']],
      ['k2', ['d']],
    ]);
    writes[2].finish();
    writes[3].finish();
    await expect(Promise.all(results)).resolves.toHaveLength(5);
  });

  it('gives each call its own outcome or error, and every call of a write that throws that error', async () => {
    const { writes, write } = controlledWrite();
    const combiner = new WriteCombiner({ maxItems: 10, maxInFlight: 1 }, write);
    const first = combiner.submit('k', 'a');
    const [b, c, d] = ['b', 'c', 'd'].map((x) => combiner.submit('k', x));
    writes[0].finish();
    await expect(first).resolves.toBe('stored a');
    await tick();
    const refused = new Error('refused');
    writes[1].finish([{ outcome: 'stored b' }, { error: refused }, { outcome: 'stored d' }]);
    await expect(b).resolves.toBe('stored b');
    await expect(c).rejects.toBe(refused);
    await expect(d).resolves.toBe('stored d');

    const [e, f] = ['e', 'f'].map((x) => combiner.submit('k', x));
    const lost = new Error('connection lost');
    writes[2].fail(lost);
    await expect(e).rejects.toBe(lost);
    await tick();
    // The lane goes on after a failed write.
    writes[3].finish();
    await expect(f).resolves.toBe('stored f');
  });

  it('with maxItems 1 writes every call alone, all at once', () => {
    const { writes, write } = controlledWrite();
    const combiner = new WriteCombiner({ maxItems: 1, maxInFlight: Number.MAX_SAFE_INTEGER }, write);
    for (const c of ['a', 'b', 'c']) void combiner.submit('k', c);
    expect(writes.map((w) => w.calls)).toEqual([['a'], ['b'], ['c']]);
  });
});
