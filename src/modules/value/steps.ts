/*
 * Long computations of the value models, run a slice at a time.
 */

/**
 * A computation that pauses now and then (`yield`) and returns a T. A fit on a large or
 * degenerate base can take seconds (a degenerate one runs all 21 × 5,000 iterations); as steps,
 * a server can run it a slice at a time and keep answering in between.
 */
export type Steps<T> = Generator<void, T, void>;

/** Runs the steps through, without pausing. */
export function complete<T>(steps: Steps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/**
 * Runs the steps in slices of about `sliceMs` of CPU, letting the event loop run (timers, I/O,
 * other requests) between slices. Same answer as complete(): the pauses change nothing else.
 */
export async function completeInSlices<T>(steps: Steps<T>, sliceMs = 10): Promise<T> {
  let sliceStart = performance.now();
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}

/** items.map(f) as steps, pausing every 256 items. */
export function* mapInSteps<T, U>(items: readonly T[], f: (item: T) => U): Steps<U[]> {
  const out: U[] = [];
  for (let i = 0; i < items.length; i++) {
    if (i % 256 === 255) yield;
    out.push(f(items[i]));
  }
  return out;
}
