import { createHash, randomBytes } from 'node:crypto';

import type { DataSource } from 'typeorm';

import { uuidv7 } from '../../db/uuid';
import { ApiKey } from './api-key.entity';
import { Scope } from './scope.enum';

export interface Principal {
  id: string;
  name: string;
  scopes: ReadonlySet<Scope>;
  /** The key's own rate limit; absent fields take the server's defaults. */
  rateLimit: { perSecond?: number; burst?: number };
}

export interface KeyOptions {
  rateLimitPerSecond?: number | null;
  rateLimitBurst?: number | null;
}

const PREFIX = 'cg_';

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

/** `admin` can do everything; otherwise the scope must be granted explicitly. */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has(Scope.ADMIN) || principal.scopes.has(scope);
}

/**
 * Issues and verifies API keys. Keys are 32 random bytes shown once; only their SHA-256 is
 * stored. Verified keys are cached for `cacheSeconds`, so a revocation takes at most that long.
 */
export class ApiKeyService {
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly cacheSeconds = 5,
  ) {}

  async create(name: string, scopes: Scope[], options: KeyOptions = {}): Promise<{ key: string; apiKey: ApiKey }> {
    const trimmed = name.trim();
    if (!trimmed || trimmed.length > 100) throw new Error('an API key needs a name of 1 to 100 characters');
    for (const [label, value] of [['rate', options.rateLimitPerSecond], ['burst', options.rateLimitBurst]] as const) {
      if (value != null && (!Number.isInteger(value) || value < 1 || value > 1_000_000)) throw new Error(`${label} must be an integer from 1 to 1000000`);
    }
    const key = PREFIX + randomBytes(32).toString('base64url');
    const apiKey = this.dataSource.getRepository(ApiKey).create({
      id: uuidv7(),
      name: trimmed,
      prefix: key.slice(0, 10),
      keyHash: hashKey(key),
      scopes: [...new Set(scopes)],
      createdAt: new Date(),
      revokedAt: null,
      rateLimitPerSecond: options.rateLimitPerSecond ?? null,
      rateLimitBurst: options.rateLimitBurst ?? null,
    });
    await this.dataSource.getRepository(ApiKey).insert(apiKey);
    return { key, apiKey };
  }

  async revoke(idOrPrefix: string): Promise<number> {
    const result = await this.dataSource.query(
      `UPDATE api_key SET revoked_at = now() WHERE revoked_at IS NULL AND (id::text = $1 OR prefix = $1)`,
      [idOrPrefix],
    );
    this.cache.clear();
    return result[1] ?? 0;
  }

  list(): Promise<ApiKey[]> {
    return this.dataSource.getRepository(ApiKey).find({ order: { createdAt: 'ASC' } });
  }

  async count(): Promise<number> {
    return this.dataSource.getRepository(ApiKey).count();
  }

  /** Those of `ids` that are keys still in force (not revoked). */
  async activeIds(ids: string[]): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.dataSource.query(`SELECT id FROM api_key WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL`, [ids]);
    return rows.map((r) => r.id);
  }

  /** The principal behind a bearer token, or null when the key is unknown or revoked. */
  async verify(key: string): Promise<Principal | null> {
    if (!key.startsWith(PREFIX) || key.length > 100) return null;
    const hash = hashKey(key);
    const cached = this.cache.get(hash);
    const now = Date.now();
    if (cached && cached.until > now) return cached.principal;
    const row: ApiKey | null = await this.dataSource
      .getRepository(ApiKey)
      .findOne({ where: { keyHash: hash } });
    const principal: Principal | null =
      row && !row.revokedAt
        ? { id: row.id, name: row.name, scopes: new Set(row.scopes), rateLimit: { perSecond: row.rateLimitPerSecond ?? undefined, burst: row.rateLimitBurst ?? undefined } }
        : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, until: now + this.cacheSeconds * 1000 });
    return principal;
  }
}
