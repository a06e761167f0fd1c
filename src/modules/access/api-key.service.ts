import { createHash, randomBytes } from 'node:crypto';

import type { DataSource } from 'typeorm';

import { sqlParams, type Param } from '../../db/params';
import { uuidv7 } from '../../db/uuid';
import { auditInsertSql, cliScope, type AuditScope } from '../audit/audit';
import { AuditKind } from '../audit/audit.types';
import { ConflictError, InputError, NotFoundError } from '../shared/errors';
import { ApiKey } from './api-key.entity';
import { Scope } from './scope.enum';

export interface Principal {
  id: string;
  name: string;
  scopes: ReadonlySet<Scope>;
  /** The key's own rate limit; absent fields take the server's defaults. */
  rateLimit: { perSecond?: number; burst?: number };
  /** SHA-256 of the secret the caller presented: a rotation makes it stale. */
  keyHash: string;
}

export interface KeyOptions {
  rateLimitPerSecond?: number | null;
  rateLimitBurst?: number | null;
}

/** Who changed a key, for its audit row (null: the command line, with its command). */
export type KeyActor = AuditScope;

const PREFIX = 'cg_';
/** last_used_at is written at most this often per key and instance. */
const LAST_USED_EVERY_MS = 60_000;

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

/** `admin` can do everything; otherwise the scope must be granted explicitly. */
export function hasScope(principal: Pick<Principal, 'scopes'>, scope: Scope): boolean {
  return principal.scopes.has(Scope.ADMIN) || principal.scopes.has(scope);
}

const newSecret = () => PREFIX + randomBytes(32).toString('base64url');

export class KeyNotFoundError extends NotFoundError {}

/**
 * Issues and verifies API keys. Keys are 32 random bytes shown once; only their SHA-256 is
 * stored. Verified keys are cached for `cacheSeconds`, so a revocation or rotation takes at most
 * that long on other instances (at once on this one). Every change is audited in its transaction.
 */
export class ApiKeyService {
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly cacheSeconds = 5,
  ) {}

  async create(name: string, scopes: Scope[], options: KeyOptions = {}, actor: KeyActor = cliScope('apikey create')): Promise<{ key: string; apiKey: ApiKey }> {
    const trimmed = name.trim();
    if (!trimmed || trimmed.length > 100) throw new InputError([{ field: 'name', message: 'an API key needs a name of 1 to 100 characters' }]);
    if (scopes.length === 0) throw new InputError([{ field: 'scopes', message: 'an API key needs at least one scope' }]);
    for (const [label, value] of [['rate', options.rateLimitPerSecond], ['burst', options.rateLimitBurst]] as const) {
      if (value != null && (!Number.isInteger(value) || value < 1 || value > 1_000_000)) throw new InputError([{ field: label, message: `${label} must be an integer from 1 to 1000000` }]);
    }
    const key = newSecret();
    const apiKey = Object.assign(new ApiKey(), {
      id: uuidv7(),
      name: trimmed,
      prefix: key.slice(0, 10),
      keyHash: hashKey(key),
      scopes: [...new Set(scopes)],
      createdAt: new Date(),
      revokedAt: null,
      lastUsedAt: null,
      rotatedAt: null,
      rateLimitPerSecond: options.rateLimitPerSecond ?? null,
      rateLimitBurst: options.rateLimitBurst ?? null,
    });
    const { params, param } = sqlParams();
    await this.dataSource.query(
      `WITH created AS (
         INSERT INTO api_key (id, name, prefix, key_hash, scopes, created_at, rate_limit_per_second, rate_limit_burst)
         VALUES (${param(apiKey.id)}, ${param(apiKey.name)}, ${param(apiKey.prefix)}, ${param(apiKey.keyHash)}, ${param(apiKey.scopes, 'varchar[]')},
                 ${param(apiKey.createdAt)}, ${param(apiKey.rateLimitPerSecond)}::int, ${param(apiKey.rateLimitBurst)}::int)),
       ${keyAudit(actor, apiKey, 'created', param)}
       SELECT 1`,
      params,
    );
    return { key, apiKey };
  }

  /** A new secret for the key (same id, scopes and rate); the old secret stops working. */
  async rotate(idOrPrefix: string, actor: KeyActor = cliScope('apikey rotate')): Promise<{ key: string; apiKey: ApiKey }> {
    const current = await this.find(idOrPrefix);
    if (current.revokedAt) throw new ConflictError(`The API key ${current.id} is revoked: create a new one instead.`);
    const key = newSecret();
    const { params, param } = sqlParams();
    const [row] = await this.dataSource.query(
      `WITH rotated AS (
         UPDATE api_key SET key_hash = ${param(hashKey(key))}, prefix = ${param(key.slice(0, 10))}, rotated_at = now()
          WHERE id = ${param(current.id)}::uuid AND revoked_at IS NULL RETURNING *),
       ${keyAudit(actor, current, 'rotated', param)}
       SELECT * FROM rotated`,
      params,
    );
    if (!row) throw new ConflictError(`The API key ${current.id} was revoked meanwhile.`);
    this.cache.clear();
    return { key, apiKey: toApiKey(row) };
  }

  /** Revokes one key by id or prefix; revoking a revoked key changes nothing. */
  async revoke(idOrPrefix: string, actor: KeyActor = cliScope('apikey revoke')): Promise<ApiKey> {
    const current = await this.find(idOrPrefix);
    if (current.revokedAt) return current;
    const { params, param } = sqlParams();
    const [row] = await this.dataSource.query(
      `WITH revoked AS (UPDATE api_key SET revoked_at = now() WHERE id = ${param(current.id)}::uuid RETURNING *),
       ${keyAudit(actor, current, 'revoked', param)}
       SELECT * FROM revoked`,
      params,
    );
    this.cache.clear();
    return toApiKey(row);
  }

  /** The key with this id or prefix: NOT_FOUND when none, CONFLICT when a prefix names several. */
  async find(idOrPrefix: string): Promise<ApiKey> {
    const rows: Row[] = await this.dataSource.query(`SELECT * FROM api_key WHERE id::text = $1 OR prefix = $1 ORDER BY created_at`, [idOrPrefix.trim()]);
    if (rows.length === 0) throw new KeyNotFoundError(`No API key has the id or prefix "${idOrPrefix}".`);
    if (rows.length > 1) throw new ConflictError(`"${idOrPrefix}" is the prefix of ${rows.length} keys: give the id.`);
    return toApiKey(rows[0]);
  }

  async list(): Promise<ApiKey[]> {
    const rows: Row[] = await this.dataSource.query(`SELECT * FROM api_key ORDER BY created_at, id`);
    return rows.map(toApiKey);
  }

  async count(): Promise<number> {
    const [row] = await this.dataSource.query(`SELECT count(*)::int AS n FROM api_key`);
    return row.n;
  }

  /** Those of `keys` still in force with the secret they were verified with (not revoked, not rotated), as `id:keyHash`. */
  async stillValid(keys: Array<Pick<Principal, 'id' | 'keyHash'>>): Promise<Set<string>> {
    const rows: Array<{ id: string; key_hash: string }> = await this.dataSource.query(
      `SELECT id, key_hash FROM api_key WHERE revoked_at IS NULL AND (id, key_hash) IN (SELECT * FROM unnest($1::uuid[], $2::char(64)[]))`,
      [keys.map((k) => k.id), keys.map((k) => k.keyHash)],
    );
    return new Set(rows.map((r) => `${r.id}:${r.key_hash}`));
  }

  /** The principal behind a bearer token, or null when the key is unknown or revoked. */
  async verify(key: string): Promise<Principal | null> {
    if (!key.startsWith(PREFIX) || key.length > 100) return null;
    const hash = hashKey(key);
    const cached = this.cache.get(hash);
    const now = Date.now();
    if (cached && cached.until > now) {
      if (cached.principal) this.touch(cached.principal.id, now);
      return cached.principal;
    }
    const [row]: Row[] = await this.dataSource.query(`SELECT * FROM api_key WHERE key_hash = $1`, [hash]);
    const principal: Principal | null =
      row && !row.revoked_at
        ? { id: row.id, name: row.name, scopes: new Set(row.scopes), rateLimit: { perSecond: row.rate_limit_per_second ?? undefined, burst: row.rate_limit_burst ?? undefined }, keyHash: hash }
        : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, until: now + this.cacheSeconds * 1000 });
    if (principal) this.touch(principal.id, now);
    return principal;
  }

  /** Notes the key as used, in the background and at most once a minute: never on the request's path. */
  private touch(id: string, now: number): void {
    if (now - (this.lastUsedWritten.get(id) ?? 0) < LAST_USED_EVERY_MS) return;
    this.lastUsedWritten.set(id, now);
    if (this.lastUsedWritten.size > 10_000) this.lastUsedWritten.clear();
    this.dataSource
      .query(`UPDATE api_key SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, [id])
      .catch((err) => console.error('[access] could not note a key as used:', (err as Error).message));
  }
}

type Row = Record<string, any>;

function toApiKey(row: Row): ApiKey {
  return Object.assign(new ApiKey(), {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    keyHash: row.key_hash,
    scopes: row.scopes,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    rotatedAt: row.rotated_at,
    rateLimitPerSecond: row.rate_limit_per_second,
    rateLimitBurst: row.rate_limit_burst,
  });
}

/** The audit CTE of a key change: the key's id, name and scopes, never its secret. */
function keyAudit(actor: KeyActor, key: ApiKey, change: string, param: Param): string {
  return auditInsertSql([{ ...actor, kind: AuditKind.KEY_CHANGE, customerIds: [], details: { change, keyId: key.id, name: key.name, scopes: key.scopes } }], param)[0];
}
