import { createHash, timingSafeEqual } from 'node:crypto';

import type { Request, Response } from 'express';

import type { Metrics } from '../observability/metrics';
import { bearerToken } from './context';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * GET /metrics in the Prometheus text format. With METRICS_TOKEN set, only `Authorization:
 * Bearer <token>` is answered (compared in constant time); API keys do not open it, and it never
 * opens the API.
 */
export function metricsHandler(metrics: Metrics, token: string | undefined) {
  const expected = token ? digest(token) : null;
  return async (req: Request, res: Response) => {
    if (expected) {
      const given = bearerToken(req.header('authorization'));
      if (!given || !timingSafeEqual(digest(given), expected)) {
        res.status(401).setHeader('www-authenticate', 'Bearer realm="metrics"').json({ error: 'METRICS_TOKEN required: send Authorization: Bearer <token>' });
        return;
      }
    }
    const { contentType, body } = await metrics.text();
    res.setHeader('content-type', contentType);
    res.setHeader('cache-control', 'no-store');
    res.send(body);
  };
}
