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
import type { ApiKeyContext } from '../modules/access/api-key.resolver';
import type { AuditService } from '../modules/audit/audit';
import type { AuditContext } from '../modules/audit/audit.resolver';
import type { ConsentContext } from '../modules/consent/consent.resolver';
import type { SetConsentContext } from '../modules/interactions/set-consent.resolver';
import type { PiiContext } from '../modules/pii/personal-data';
import type { PiiPolicy } from '../modules/pii/pii-policy';
import type { ErasureService } from '../modules/privacy/erasure.service';
import type { ExportService } from '../modules/privacy/export.service';
import type { PrivacyContext } from '../modules/privacy/privacy.resolver';
import type { ValueContext } from '../modules/value/value.resolver';
import type { SegmentContext } from '../modules/segments/segment.resolver';
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
  audit: AuditService;
  erasure: ErasureService;
  exports: ExportService;
  pii: PiiPolicy;
}

/**
 * What every resolver gets: the caller, the services, and this request's loaders. Each module
 * declares the part its resolvers read (modules do not import this layer); extending them all
 * makes the compiler check that this context still provides each part.
 */
export interface Context
  extends Services,
    CustomerContext,
    IdentityContext,
    InteractionContext,
    JourneyContext,
    LifecycleContext,
    LiveContext,
    ApiKeyContext,
    AuditContext,
    ConsentContext,
    SetConsentContext,
    PiiContext,
    PrivacyContext,
    ValueContext,
    SegmentContext {
  config: Config;
  principal: Principal;
  loaders: Loaders;
  /** Customers whose personal data this operation returned unmasked; audited once it is answered. */
  piiRead: Set<string>;
  /** The request's id (HTTP: x-request-id), for the log. */
  requestId?: string;
  /** The HTTP response's locals, where the log notes that the operation was logged. */
  httpLocals?: Record<string, unknown>;
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
  return { ...services, principal, loaders: createLoaders(services, { cache: options.cacheLoaders }), piiRead: new Set() };
}
