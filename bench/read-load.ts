/**
 * The load generator of bench/read.ts, in a process of its own so that its CPU is not the
 * server's: `clients` concurrent loops, each sending POST `url` with the next of `bodies` (cycled
 * through, one shared cursor) as soon as its previous answer is in.
 *
 *   node -r ts-node/register/transpile-only bench/read-load.ts < config.json
 *
 * config.json: { url, headers?, bodies: string[], clients, seconds, warmupSeconds? }
 *
 * Every answer is checked: HTTP 200, a JSON body without `errors`, and no top-level field null
 * (PostGraphile answers an unknown id with null, not an error). Prints `{"phase":"measure"}` when
 * the warm-up ends, then one line of JSON: { requests, errors, seconds, rps, p50, p99, ... }
 * (latencies in ms). Requests sent during the warm-up are neither timed nor counted, but their
 * failures are reported too.
 */
import { performance } from 'node:perf_hooks';

import { jsonPoster } from './http-client';

const REQUEST_TIMEOUT_MS = 30_000;

export interface LoadConfig {
  url: string;
  headers?: Record<string, string>;
  bodies: string[];
  clients: number;
  seconds: number;
  warmupSeconds?: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  /** From the start of the measured phase to the last answer of a request sent in it. */
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  /** Failures while warming up (not in `errors`, which is the measured phase only). */
  warmupErrors: number;
  /** Mean size of a response body, in bytes. */
  meanBytes: number;
  /** The first few failures, as seen. */
  errorSamples: string[];
}

/** Why an answer is not a success, or null when it is one. */
export function problemOf(status: number, body: string): string | null {
  if (status !== 200) return `HTTP ${status}: ${body.slice(0, 300)}`;
  let parsed: { data?: Record<string, unknown> | null; errors?: unknown[] };
  try {
    parsed = JSON.parse(body);
  } catch {
    return `body is not JSON: ${body.slice(0, 300)}`;
  }
  if (parsed.errors?.length) return `errors: ${JSON.stringify(parsed.errors).slice(0, 300)}`;
  if (!parsed.data) return `no data: ${body.slice(0, 300)}`;
  for (const [field, value] of Object.entries(parsed.data)) if (value === null) return `${field} is null`;
  return null;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export async function runLoad(config: LoadConfig, onMeasure: () => void = () => undefined): Promise<LoadResult> {
  const poster = jsonPoster(config.url, config.headers ?? {}, { kind: 'http', connections: config.clients, timeoutMs: REQUEST_TIMEOUT_MS });
  const payloads = config.bodies.map((b) => Buffer.from(b));
  const send = async (payload: Buffer) => {
    const { status, text } = await poster.post(payload);
    return { status, body: text };
  };

  const warmupMs = (config.warmupSeconds ?? 0) * 1000;
  const started = performance.now();
  const measureFrom = started + warmupMs;
  const measureUntil = measureFrom + config.seconds * 1000;
  let next = 0;
  let latencies = new Float64Array(1 << 16);
  let requests = 0;
  let errors = 0;
  let warmupErrors = 0;
  let bytes = 0;
  let lastAnswer = measureFrom;
  const errorSamples: string[] = [];
  let measuring = false;
  // Flips the phase on time even when no answer comes in (a stalled server).
  const phaseTimer = setTimeout(() => {
    measuring = true;
    onMeasure();
  }, warmupMs);

  const client = async () => {
    for (;;) {
      const sentAt = performance.now();
      if (sentAt >= measureUntil) return;
      const measured = sentAt >= measureFrom;
      const payload = payloads[next++ % payloads.length];
      let problem: string | null;
      let size = 0;
      try {
        const { status, body } = await send(payload);
        size = Buffer.byteLength(body);
        problem = problemOf(status, body);
      } catch (err) {
        problem = `request failed: ${(err as Error).message}`;
        // A refused connection fails at once: do not spin on it.
        await new Promise((r) => setTimeout(r, 10));
      }
      const answeredAt = performance.now();
      if (problem && errorSamples.length < 5) errorSamples.push(`${measured ? '' : '(warm-up) '}${problem}`);
      if (!measured) {
        if (problem) warmupErrors++;
        continue;
      }
      if (problem) errors++;
      if (requests === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[requests++] = answeredAt - sentAt;
      bytes += size;
      if (answeredAt > lastAnswer) lastAnswer = answeredAt;
    }
  };
  await Promise.all(Array.from({ length: config.clients }, client));
  clearTimeout(phaseTimer);
  if (!measuring) onMeasure();
  poster.close();

  const sorted = latencies.slice(0, requests).sort();
  const seconds = (lastAnswer - measureFrom) / 1000;
  const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
  return {
    requests,
    errors,
    seconds: round(seconds, 3),
    rps: round(requests / Math.max(seconds, 1e-9), 1),
    p50: round(percentile(sorted, 50), 2),
    p99: round(percentile(sorted, 99), 2),
    warmupErrors,
    meanBytes: requests ? Math.round(bytes / requests) : 0,
    errorSamples,
  };
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

if (require.main === module) {
  (async () => {
    const config = JSON.parse(await readStdin()) as LoadConfig;
    if (!config.url || !Array.isArray(config.bodies) || config.bodies.length === 0) throw new Error('the config needs a url and at least one body');
    if (!Number.isInteger(config.clients) || config.clients < 1) throw new Error('clients must be a positive integer');
    if (!(config.seconds > 0)) throw new Error('seconds must be positive');
    const result = await runLoad(config, () => process.stdout.write(`${JSON.stringify({ phase: 'measure' })}\n`));
    process.stdout.write(`${JSON.stringify(result)}\n`);
  })().catch((err) => {
    console.error(`load generator failed: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  });
}
