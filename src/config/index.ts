import path from 'node:path';
import { isSupportedCountry, type CountryCode } from 'libphonenumber-js';

// A domain's settings are typed by the domain: this file belongs with the entry points, above
// every module, so the modules do not import it.
import { IdentifierType } from '../modules/identity/identifier-type.enum';
import type { IdentifierLimits } from '../modules/identity/resolution-plan';
import type { LifecycleThresholds } from '../modules/lifecycle/rules';
import { DEFAULT_PERSONAL_TRAITS, DEFAULT_PUBLIC_PROPERTIES, piiPolicy, type PiiPolicy } from '../modules/pii/pii-policy';
import { DEFAULT_PURPOSES } from '../modules/shared/consent-status.enum';

import { projectRoot } from './paths';

export interface Config {
  port: number;
  host: string;
  /** Unset: an embedded PostgreSQL is started under `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  dbPoolSize: number;
  defaultPhoneRegion: CountryCode;
  defaultCurrency: string;
  identifierBlocklist: string[];
  identifierLimits: IdentifierLimits;
  /** How long a verified API key is trusted before it is read again (revocation delay). */
  apiKeyCacheSeconds: number;
  maxBatchSize: number;
  /** Single writes of one key that queue behind running ones, written together (src/modules/interactions/write-combiner.ts). */
  writeCombine: { maxItems: number; maxInFlight: number };
  logLevel: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  /** JSON lines, or pretty lines for a person; unset: pretty when stdout is a terminal. */
  logFormat?: 'json' | 'pretty';
  /** Bearer token /metrics asks for; unset: /metrics is open. */
  metricsToken?: string;
  /** Origins whose browser pages may call the API (CORS) and open its websocket; empty: same origin only. */
  corsOrigins: string[];
  /** Answer the common read shapes with one compiled statement (src/graphql/fast-read/). */
  fastReads: boolean;
  /** Answer plain recordInteraction documents in the front lane, without Express and Apollo (src/graphql/fast-write/). */
  fastWrites: boolean;
  lifecycle: LifecycleThresholds;
  /** Seconds between two lifecycle sweeps in the server; 0 turns the periodic sweep off. */
  sweepIntervalSeconds: number;
  /** Customers moved per sweep transaction. */
  sweepBatchSize: number;
  /** Days without interaction after which an open purchase journey is abandoned. */
  journeyAbandonAfterDays: number;
  /** Bytes that may wait for one websocket client before it is closed with 4413 (slow consumer). */
  liveMaxBufferBytes: number;
  /** Longest wait between two reads of the event log when no notification arrives. */
  livePollMs: number;
  /** Seconds between two checks that the keys of open websocket connections are not revoked. */
  liveKeyCheckSeconds: number;
  /** Days the event log keeps events (how far back `after` cursors can resume). */
  eventRetentionDays: number;
  /** What one operation may ask for, checked before anything runs (HTTP and websocket alike). */
  limits: OperationLimits;
  /** Default per-key token bucket; a key may carry its own rate and burst. */
  rateLimit: RateLimit;
  /** Largest HTTP body and websocket message accepted. */
  maxBodyBytes: number;
  /** PostgreSQL statement_timeout of the API's pool (reads, writes, sweeps). */
  statementTimeoutMs: number;
  /** Connections of the separate pool serving analytics queries, and their statement_timeout. */
  analyticsPoolSize: number;
  analyticsStatementTimeoutMs: number;
  /** Websocket connections one key may hold open at once, on one instance. */
  liveMaxConnectionsPerKey: number;
  /** Operations (subscriptions, queries) open at once on one websocket connection. */
  liveMaxOperationsPerConnection: number;
  /** Subscriptions one key may hold across all its connections, on one instance. */
  liveMaxSubscriptionsPerKey: number;
  /** Schema introspection and the landing page; off by default when NODE_ENV=production. */
  introspection: boolean;
  /** What is personal in traits and properties: masked for keys without the pii scope. */
  pii: PiiPolicy;
  /** Consent purposes the API accepts (the five defaults plus CONSENT_PURPOSES). */
  consentPurposes: string[];
  /** Keys the suppression list's hashes with; unset: a secret made once and kept in the database. */
  suppressionSecret?: string;
  /** Days the audit trail keeps its rows (pruned by the periodic housekeeping). */
  auditRetentionDays: number;
  /** Hours after which the server refits the value model as of now; 0: only refitValueModel. */
  valueRefitHours: number;
  /** ANALYZE the tables a bulk load filled once its writes pause (src/db/analyze-scheduler.ts). */
  analyzeAfterWrites: boolean;
}

export interface OperationLimits {
  /** Nested fields (fragments counted once, where they are spread). */
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  /** Lexical tokens of the document; the parser stops at this count. */
  maxTokens: number;
  /** Cost budget of one operation (see src/graphql/plugins/operation-limits.ts for the model). */
  maxCost: number;
  /** Field selections evaluated while costing, fragments expanded (a guard against fragment bombs). */
  maxQueryNodes: number;
}

export interface RateLimit {
  /** Tokens added per second: the sustained request rate. */
  perSecond: number;
  /** Bucket size: requests that may arrive at once after a quiet period. */
  burst: number;
}

export class ConfigError extends Error {}

const DEFAULT_LIMITS: IdentifierLimits = {
  [IdentifierType.CUSTOMER_ID]: 1,
  [IdentifierType.LOYALTY_CARD]: 3,
  [IdentifierType.EMAIL]: 5,
  [IdentifierType.PHONE]: 5,
  [IdentifierType.DEVICE_ID]: 20,
  [IdentifierType.ANONYMOUS_ID]: 200,
};

/** Junk values seen in real feeds; compared after normalisation, case-insensitively. */
export const DEFAULT_BLOCKLIST = [
  'test@test.com',
  'test@example.com',
  'noemail@noemail.com',
  'null',
  'undefined',
  'nil',
  'none',
  'n/a',
  'na',
  'anonymous',
  'unknown',
  '0',
  '-',
];

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

function parseLimits(raw: string | undefined): IdentifierLimits {
  const limits = { ...DEFAULT_LIMITS };
  if (!raw) return limits;
  for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [type, count] = part.split('=').map((p) => p.trim());
    if (!(type in IdentifierType)) {
      throw new ConfigError(
        `IDENTIFIER_LIMITS: unknown identifier type "${type}" (expected one of ${Object.keys(IdentifierType).join(', ')})`,
      );
    }
    const n = Number(count);
    if (!Number.isInteger(n) || n < 1 || n > 100000) {
      throw new ConfigError(`IDENTIFIER_LIMITS: ${type} needs a positive integer, got "${count}"`);
    }
    limits[type as IdentifierType] = n;
  }
  return limits;
}

function list(env: NodeJS.ProcessEnv, name: string): string[] | null {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return null;
  return raw.split(',').map((v) => v.trim()).filter(Boolean);
}

/** A list variable: `+a,b` adds to the defaults, `a,b` replaces them. */
function listWithDefaults(env: NodeJS.ProcessEnv, name: string, defaults: readonly string[]): string[] {
  const raw = env[name]?.trim();
  if (!raw) return [...defaults];
  const values = list({ [name]: raw.replace(/^\+/, '') }, name) ?? [];
  return raw.startsWith('+') ? [...new Set([...defaults, ...values])] : values;
}

function secret(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.SUPPRESSION_SECRET?.trim();
  if (!raw) return undefined;
  if (raw.length < 32) throw new ConfigError('SUPPRESSION_SECRET must be at least 32 characters (e.g. `openssl rand -base64 32`)');
  return raw;
}

function purposes(env: NodeJS.ProcessEnv): string[] {
  const extra = list(env, 'CONSENT_PURPOSES') ?? [];
  for (const p of extra) {
    if (!/^[A-Z][A-Z0-9_]{0,63}$/.test(p)) throw new ConfigError(`CONSENT_PURPOSES: "${p}" must be an upper-case name such as LOYALTY_PROGRAM (letters, digits, _; at most 64)`);
  }
  return [...new Set([...DEFAULT_PURPOSES, ...extra])];
}

/** Reads and validates the environment once; throws ConfigError with a message meant for a person. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(`DATABASE_URL must start with postgres:// or postgresql://, got "${databaseUrl}"`);
  }
  const region = (env.DEFAULT_PHONE_REGION ?? 'FR').trim().toUpperCase();
  if (!isSupportedCountry(region)) {
    throw new ConfigError(`DEFAULT_PHONE_REGION must be an ISO 3166 country code such as FR or GB, got "${region}"`);
  }
  const currency = (env.DEFAULT_CURRENCY ?? 'EUR').trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency)) {
    throw new ConfigError(`DEFAULT_CURRENCY must be an ISO 4217 code such as EUR, got "${currency}"`);
  }
  const extraBlocklist = (env.IDENTIFIER_BLOCKLIST ?? '')
    .split(',')
    .map((v) => v.trim().toLowerCase())
    .filter(Boolean);
  const logLevel = (env.LOG_LEVEL ?? 'info') as Config['logLevel'];
  if (!['silent', 'error', 'warn', 'info', 'debug'].includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be silent, error, warn, info or debug, got "${env.LOG_LEVEL}"`);
  }
  const logFormat = env.LOG_FORMAT?.trim() || undefined;
  if (logFormat !== undefined && logFormat !== 'json' && logFormat !== 'pretty') {
    throw new ConfigError(`LOG_FORMAT must be json or pretty, got "${env.LOG_FORMAT}"`);
  }
  const metricsToken = env.METRICS_TOKEN?.trim() || undefined;
  if (metricsToken !== undefined && metricsToken.length < 16) {
    throw new ConfigError('METRICS_TOKEN must be at least 16 characters (it guards /metrics)');
  }
  const corsOrigins = (env.CORS_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean)
    .map((o) => {
      let url: URL;
      try {
        url = new URL(o);
      } catch {
        throw new ConfigError(`CORS_ORIGINS: "${o}" is not an origin such as https://shop.example.com`);
      }
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== o.replace(/\/$/, '')) {
        throw new ConfigError(`CORS_ORIGINS: "${o}" is not an origin (scheme, host and port only, such as https://shop.example.com:8443)`);
      }
      return url.origin;
    });
  const lifecycle: LifecycleThresholds = {
    atRiskAfterDays: int(env, 'LIFECYCLE_AT_RISK_AFTER_DAYS', 90, 1, 3650),
    churnAfterDays: int(env, 'LIFECYCLE_CHURN_AFTER_DAYS', 365, 1, 3650),
    loyalMinOrders: int(env, 'LIFECYCLE_LOYAL_MIN_ORDERS', 4, 2, 1000),
    windowDays: 365,
  };
  if (lifecycle.churnAfterDays <= lifecycle.atRiskAfterDays) {
    throw new ConfigError(
      `LIFECYCLE_CHURN_AFTER_DAYS (${lifecycle.churnAfterDays}) must be greater than LIFECYCLE_AT_RISK_AFTER_DAYS (${lifecycle.atRiskAfterDays})`,
    );
  }
  return {
    port: int(env, 'PORT', 4000, 0, 65535),
    host: env.HOST?.trim() || '0.0.0.0',
    databaseUrl,
    dataDir: path.resolve(env.DATA_DIR?.trim() || path.join(projectRoot(), '.data')),
    dbPoolSize: int(env, 'DB_POOL_SIZE', 20, 1, 500),
    defaultPhoneRegion: region,
    defaultCurrency: currency,
    identifierBlocklist: [...new Set([...DEFAULT_BLOCKLIST, ...extraBlocklist])],
    identifierLimits: parseLimits(env.IDENTIFIER_LIMITS),
    apiKeyCacheSeconds: int(env, 'API_KEY_CACHE_SECONDS', 5, 0, 3600),
    maxBatchSize: 1000,
    writeCombine: {
      maxItems: int(env, 'WRITE_COMBINE_MAX', 16, 1, 1000),
      maxInFlight: int(env, 'WRITE_COMBINE_IN_FLIGHT', 1, 1, 500),
    },
    logLevel,
    logFormat: logFormat as Config['logFormat'],
    metricsToken,
    corsOrigins,
    fastReads: bool(env, 'FAST_READS', true),
    fastWrites: bool(env, 'FAST_WRITES', true),
    lifecycle,
    sweepIntervalSeconds: int(env, 'LIFECYCLE_SWEEP_SECONDS', 60, 0, 86400),
    sweepBatchSize: int(env, 'LIFECYCLE_SWEEP_BATCH', 500, 1, 10000),
    journeyAbandonAfterDays: int(env, 'JOURNEY_ABANDON_AFTER_DAYS', 30, 1, 365),
    liveMaxBufferBytes: int(env, 'LIVE_MAX_BUFFER_BYTES', 1024 * 1024, 16 * 1024, 1024 * 1024 * 1024),
    livePollMs: int(env, 'LIVE_POLL_MS', 1000, 50, 60_000),
    liveKeyCheckSeconds: int(env, 'LIVE_KEY_CHECK_SECONDS', 2, 1, 3600),
    eventRetentionDays: int(env, 'EVENT_RETENTION_DAYS', 7, 1, 3650),
    limits: {
      maxDepth: int(env, 'MAX_QUERY_DEPTH', 10, 2, 100),
      maxAliases: int(env, 'MAX_QUERY_ALIASES', 30, 0, 10_000),
      maxDirectives: int(env, 'MAX_QUERY_DIRECTIVES', 50, 0, 10_000),
      maxTokens: int(env, 'MAX_QUERY_TOKENS', 5000, 100, 1_000_000),
      maxCost: int(env, 'MAX_OPERATION_COST', 50_000, 100, 100_000_000),
      maxQueryNodes: int(env, 'MAX_QUERY_NODES', 10_000, 100, 1_000_000),
    },
    rateLimit: {
      perSecond: int(env, 'RATE_LIMIT_PER_SECOND', 100, 1, 1_000_000),
      burst: int(env, 'RATE_LIMIT_BURST', 200, 1, 1_000_000),
    },
    maxBodyBytes: int(env, 'MAX_BODY_BYTES', 1024 * 1024, 16 * 1024, 256 * 1024 * 1024),
    statementTimeoutMs: int(env, 'DB_STATEMENT_TIMEOUT_MS', 15_000, 0, 3_600_000),
    analyticsPoolSize: int(env, 'ANALYTICS_POOL_SIZE', 2, 1, 100),
    analyticsStatementTimeoutMs: int(env, 'ANALYTICS_STATEMENT_TIMEOUT_MS', 30_000, 0, 3_600_000),
    liveMaxConnectionsPerKey: int(env, 'LIVE_MAX_CONNECTIONS_PER_KEY', 20, 1, 1_000_000),
    liveMaxOperationsPerConnection: int(env, 'LIVE_MAX_OPERATIONS_PER_CONNECTION', 100, 1, 100_000),
    liveMaxSubscriptionsPerKey: int(env, 'LIVE_MAX_SUBSCRIPTIONS_PER_KEY', 500, 1, 10_000_000),
    introspection: bool(env, 'GRAPHQL_INTROSPECTION', env.NODE_ENV !== 'production'),
    pii: piiPolicy(listWithDefaults(env, 'PII_TRAITS', DEFAULT_PERSONAL_TRAITS), listWithDefaults(env, 'PII_PUBLIC_PROPERTIES', DEFAULT_PUBLIC_PROPERTIES)),
    consentPurposes: purposes(env),
    suppressionSecret: secret(env),
    auditRetentionDays: int(env, 'AUDIT_RETENTION_DAYS', 400, 1, 36500),
    valueRefitHours: int(env, 'VALUE_REFIT_HOURS', 24, 0, 24 * 365),
    analyzeAfterWrites: bool(env, 'ANALYZE_AFTER_WRITES', true),
  };
}
