import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

import { Scope } from './scope.enum';

/** A partner's or front-end's credential. Only a SHA-256 of the secret is stored. */
@Entity('api_key')
@Index('api_key_hash_key', ['keyHash'], { unique: true })
@Check('api_key_rate_limit_check', '("rate_limit_per_second" IS NULL OR "rate_limit_per_second" > 0) AND ("rate_limit_burst" IS NULL OR "rate_limit_burst" > 0)')
export class ApiKey {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  /** First characters of the key, to recognise it in lists without revealing it. */
  @Column({ type: 'varchar', length: 16 })
  prefix!: string;

  @Column({ name: 'key_hash', type: 'char', length: 64 })
  keyHash!: string;

  @Column({ type: 'varchar', length: 16, array: true })
  scopes!: Scope[];

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  /** Requests per second this key may sustain; null: the server's RATE_LIMIT_PER_SECOND. */
  @Column({ name: 'rate_limit_per_second', type: 'integer', nullable: true })
  rateLimitPerSecond!: number | null;

  /** Requests this key may send at once after a quiet period; null: the server's RATE_LIMIT_BURST. */
  @Column({ name: 'rate_limit_burst', type: 'integer', nullable: true })
  rateLimitBurst!: number | null;
}
