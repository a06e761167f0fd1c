import http from 'node:http';

export type RawAnswer = { status: number; headers: http.IncomingHttpHeaders; body: any };

/**
 * A POST with node:http, answered as status, headers and parsed JSON. `chunked` sends the body
 * without a content-length, which the front lane always leaves to Express: the same request
 * through the general path.
 */
export function rawPost(url: string, body: string, headers: Record<string, string>, chunked = false): Promise<RawAnswer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { ...headers, ...(chunked ? {} : { 'content-length': Buffer.byteLength(body) }) } },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    if (chunked) req.write(body.slice(0, 5));
    req.end(chunked ? body.slice(5) : body);
  });
}
