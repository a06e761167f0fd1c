import { createHash, createHmac, randomBytes } from 'node:crypto';

import type { Queryable } from '../../db/tx';

/**
 * The suppression list of erased identifiers holds keyed hashes, never values: HMAC-SHA256 of
 * `TYPE:normalised value` under a server secret. A value sent again hashes to the same row, so a
 * person who was erased is not silently rebuilt from the next event that names them; a stolen copy
 * of the table does not give the values back without the secret (an unkeyed hash of an e-mail or
 * a phone number would fall to a dictionary in minutes).
 */
export class Suppression {
  /** Names the secret the hashes were made with (its own hash, shortened): a changed secret is detectable. */
  readonly keyId: string;

  constructor(private readonly secret: string) {
    if (secret.length < 32) throw new Error('the suppression secret must be at least 32 characters');
    this.keyId = createHash('sha256').update(secret).digest('hex').slice(0, 16);
  }

  hash(type: string, value: string): string {
    return createHmac('sha256', this.secret).update(`${type}:${value}`).digest('hex');
  }

  /**
   * The secret to key hashes with: `configured` (SUPPRESSION_SECRET) when set, else one made at
   * random on first use and kept in the database, so that every instance uses the same one.
   */
  static async load(db: Queryable, configured: string | undefined): Promise<Suppression> {
    if (configured) return new Suppression(configured);
    await db.query(`INSERT INTO server_secret (name, secret, created_at) VALUES ('suppression', $1, now()) ON CONFLICT (name) DO NOTHING`, [randomBytes(32).toString('base64url')]);
    const [row] = await db.query<{ secret: string }>(`SELECT secret FROM server_secret WHERE name = 'suppression'`);
    return new Suppression(row.secret);
  }

  /** How many suppressed identifiers were hashed with another secret (they no longer match anything). */
  async staleEntries(db: Queryable): Promise<number> {
    const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM suppressed_identifier WHERE key_id <> $1`, [this.keyId]);
    return row.n;
  }
}
