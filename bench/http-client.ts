/**
 * The benchmarks' HTTP client: JSON POSTs over keep-alive connections of node:http, for bench:read's
 * load generator (bench/read-load.ts), bench:ingest and bench:write-floor.
 *
 * It matters on a 2-core machine that also runs the server: 32 concurrent clients of Node's
 * `fetch` (undici) spend about 0.3 ms of CPU per request, node:http about 0.04 ms (both against a
 * server that only parses the request and answers; bench:write-floor measures it), and every
 * millisecond the load generator spends is one the server does not get. `fetch` stays available
 * (`--client fetch`) to compare with figures taken with it.
 */
import http from 'node:http';
import https from 'node:https';

export type ClientKind = 'http' | 'fetch';

export interface JsonPoster {
  /** The response's status and text; rejects when the request cannot be sent or `signal` aborts it. */
  post(body: string | Buffer, signal?: AbortSignal): Promise<{ status: number; text: string }>;
  close(): void;
}

/** `timeoutMs` (node:http): a request without an answer by then fails — a stalled server shows as failures, not as a run that never ends. */
export function jsonPoster(url: string, headers: Record<string, string>, options: { kind: ClientKind; connections: number; timeoutMs?: number }): JsonPoster {
  if (options.kind === 'fetch') {
    return {
      async post(body, signal) {
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal });
        return { status: response.status, text: await response.text() };
      },
      close() {},
    };
  }
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true, maxSockets: options.connections, maxFreeSockets: options.connections });
  return {
    post(body, signal) {
      return new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
        const req = transport.request(
          target,
          { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => {
              signal?.removeEventListener('abort', onAbort);
              resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
            });
            res.on('error', reject);
          },
        );
        const onAbort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
        signal?.addEventListener('abort', onAbort, { once: true });
        if (options.timeoutMs !== undefined) req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
        req.on('error', (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        });
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}
