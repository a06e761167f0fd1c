import type { Config } from '../config';
import type { ApiKeyService, Principal } from '../modules/access/api-key.service';
import type { RateLimiter } from '../modules/access/token-bucket';
import type { IngestService } from '../modules/interactions/ingest.service';
import type { LifecycleService } from '../modules/lifecycle/lifecycle.service';
import type { JourneyAnalyticsService } from '../modules/journeys/journey-analytics.service';
import type { CustomerContext } from '../modules/customers/customer.resolver';
import type { IdentityContext } from '../modules/identity/identity.resolver';
import type { InteractionContext } from '../modules/interactions/interaction.resolver';
import type { JourneyContext } from '../modules/journeys/journey.resolver';
import type { LifecycleContext } from '../modules/lifecycle/lifecycle.resolver';
import type { LiveContext } from '../modules/live/live.resolver';
import { UnauthenticatedError } from './errors';
import { createLoaders, type LoaderSources, type Loaders } from './loaders';

/** Long-lived services shared by every request. */
export interface Services extends LoaderSources {
  config: Config;
  apiKeys: ApiKeyService;
  /** Per-key token buckets of this instance (HTTP requests and websocket operations). */
  rateLimiter: RateLimiter;
  ingest: IngestService;
  lifecycle: LifecycleService;
  analytics: JourneyAnalyticsService;
}

/**
 * What every resolver gets: the caller, the services, and this request's loaders. Each module
 * declares the part its resolvers read (modules do not import this layer); extending them all
 * makes the compiler check that this context still provides each part.
 */
export interface Context extends Services, CustomerContext, IdentityContext, InteractionContext, JourneyContext, LifecycleContext, LiveContext {
  config: Config;
  principal: Principal;
  loaders: Loaders;
}

/** Extracts the bearer token from an `Authorization` header (or graphql-ws connection params). */
export function bearerToken(header: unknown): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}

/**
 * Builds the context of one operation for a caller whose key was verified (over HTTP, by the
 * guard in http-guard.ts before the body is read). Without a principal nothing runs.
 */
export function contextFor(services: Services, principal: Principal | undefined, options: { cacheLoaders?: boolean } = {}): Context {
  if (!principal) throw new UnauthenticatedError();
  return { ...services, principal, loaders: createLoaders(services, { cache: options.cacheLoaders }) };
}
