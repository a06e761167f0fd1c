import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

import { Scope } from './scope.enum';

/** A partner's or front-end's credential. Only a SHA-256 of the secret is stored, and never shown. */
@ObjectType({ description: 'An API key as admins see it: everything but its secret (shown once, when created or rotated).' })
@Entity('api_key')
@Index('api_key_hash_key', ['keyHash'], { unique: true })
@Check('api_key_rate_limit_check', '("rate_limit_per_second" IS NULL OR "rate_limit_per_second" > 0) AND ("rate_limit_burst" IS NULL OR "rate_limit_burst" > 0)')
export class ApiKey {
  @Field(() => ID)
  @PrimaryColumn('uuid')
  id!: string;

  @Field()
  @Column({ type: 'varchar', length: 100 })
  name!: string;

  /** First characters of the key, to recognise it in lists without revealing it. */
  @Field({ description: 'The first characters of the secret, to recognise it.' })
  @Column({ type: 'varchar', length: 16 })
  prefix!: string;

  @Column({ name: 'key_hash', type: 'char', length: 64 })
  keyHash!: string;

  @Field(() => [Scope])
  @Column({ type: 'varchar', length: 16, array: true })
  scopes!: Scope[];

  @Field()
  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  /** Last time the key was seen, to the minute (written at most once a minute per instance). */
  @Field(() => Date, { nullable: true, description: 'Last time a request used it, to the minute.' })
  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;

  /** Last time its secret was replaced; the key keeps its id, scopes and rate. */
  @Field(() => Date, { nullable: true })
  @Column({ name: 'rotated_at', type: 'timestamptz', nullable: true })
  rotatedAt!: Date | null;

  /** Requests per second this key may sustain; null: the server's RATE_LIMIT_PER_SECOND. */
  @Field(() => Int, { nullable: true, description: 'Null: the server default (RATE_LIMIT_PER_SECOND).' })
  @Column({ name: 'rate_limit_per_second', type: 'integer', nullable: true })
  rateLimitPerSecond!: number | null;

  /** Requests this key may send at once after a quiet period; null: the server's RATE_LIMIT_BURST. */
  @Field(() => Int, { nullable: true, description: 'Null: the server default (RATE_LIMIT_BURST).' })
  @Column({ name: 'rate_limit_burst', type: 'integer', nullable: true })
  rateLimitBurst!: number | null;
}
