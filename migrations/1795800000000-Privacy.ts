import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Privacy: consent per purpose (every decision, and the one in force), erasure receipts, the
 * suppression list of erased identifiers (keyed hashes only), an append-only audit trail, the
 * server secret those hashes are keyed with, and the columns an erasure empties.
 */
export class Privacy1795800000000 implements MigrationInterface {
  name = 'Privacy1795800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const q = (sql: string) => queryRunner.query(sql);
    await q(`ALTER TABLE "api_key" ADD "last_used_at" TIMESTAMP WITH TIME ZONE`);
    await q(`ALTER TABLE "api_key" ADD "rotated_at" TIMESTAMP WITH TIME ZONE`);

    // Every decision a person made, moved with the person on a merge; never updated.
    await q(`CREATE TABLE "consent_decision" (
      "id" uuid PRIMARY KEY,
      "customer_id" uuid NOT NULL,
      "purpose" character varying(64) NOT NULL,
      "status" character varying(16) NOT NULL,
      "at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "channel" character varying(16) NOT NULL,
      "interaction_id" uuid,
      "api_key_id" uuid,
      "recorded_at" TIMESTAMP WITH TIME ZONE NOT NULL)`);
    await q(`CREATE INDEX "consent_decision_customer_idx" ON "consent_decision" ("customer_id", "purpose", "at")`);
    // The decision in force per purpose: the latest by the time it was made, not by arrival.
    await q(`CREATE TABLE "consent_state" (
      "customer_id" uuid NOT NULL,
      "purpose" character varying(64) NOT NULL,
      "status" character varying(16) NOT NULL,
      "at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "decision_id" uuid NOT NULL,
      "channel" character varying(16) NOT NULL,
      "interaction_id" uuid,
      CONSTRAINT "consent_state_pkey" PRIMARY KEY ("customer_id", "purpose"))`);
    await q(`CREATE INDEX "consent_state_purpose_idx" ON "consent_state" ("purpose", "status", "customer_id")`);

    // What an erasure empties: the ledger and conflicts keep their rows without the value.
    await q(`ALTER TABLE "merge" ALTER COLUMN "identifier_value" DROP NOT NULL`);
    await q(`ALTER TABLE "merge" ADD "consent_conflicts" jsonb NOT NULL DEFAULT '[]'`);
    await q(`ALTER TABLE "identity_conflict" ALTER COLUMN "identifier_value" DROP NOT NULL`);
    await q(`ALTER TABLE "customer" ADD "erased_at" TIMESTAMP WITH TIME ZONE`);

    await q(`CREATE TABLE "erasure" (
      "id" uuid PRIMARY KEY,
      "customer_id" uuid NOT NULL,
      "customer_ids" uuid array NOT NULL,
      "at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "api_key_id" uuid,
      "actor" character varying(100) NOT NULL,
      "reason" text NOT NULL,
      "removed" jsonb NOT NULL,
      "suppressed" integer NOT NULL)`);
    await q(`CREATE INDEX "erasure_customer_idx" ON "erasure" ("customer_id")`);

    // HMAC-SHA256 of "type:value" under the server secret: matches a value sent again without
    // keeping it. `key_id` names the secret it was made with.
    await q(`CREATE TABLE "suppressed_identifier" (
      "hash" character(64) NOT NULL,
      "type" character varying(16) NOT NULL,
      "key_id" character(16) NOT NULL,
      "erasure_id" uuid NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "suppressed_identifier_pkey" PRIMARY KEY ("hash"))`);

    await q(`CREATE TABLE "server_secret" ("name" character varying(32) PRIMARY KEY, "secret" character varying(128) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL)`);

    await q(`CREATE TABLE "audit" (
      "id" uuid PRIMARY KEY,
      "at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "api_key_id" uuid,
      "actor" character varying(100) NOT NULL,
      "kind" character varying(16) NOT NULL,
      "operation" character varying(100) NOT NULL,
      "operation_name" character varying(100),
      "customer_ids" uuid array NOT NULL,
      "customer_count" integer NOT NULL,
      "details" jsonb NOT NULL DEFAULT '{}')`);
    await q(`CREATE INDEX "audit_at_idx" ON "audit" ("at", "id")`);
    await q(`CREATE INDEX "audit_customer_idx" ON "audit" USING gin ("customer_ids")`);
    await q(`CREATE INDEX "audit_key_idx" ON "audit" ("api_key_id", "at")`);
    // Append-only, whoever connects: rows are never updated, and deleted only by the retention
    // prune, which says so for its own transaction.
    await q(`CREATE FUNCTION "audit_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND current_setting('customer_graph.audit_prune', true) = 'on' THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q(`CREATE TRIGGER "audit_append_only" BEFORE UPDATE OR DELETE ON "audit" FOR EACH ROW EXECUTE FUNCTION "audit_append_only"()`);
    await q(`CREATE TRIGGER "audit_no_truncate" BEFORE TRUNCATE ON "audit" FOR EACH STATEMENT EXECUTE FUNCTION "audit_append_only"()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const q = (sql: string) => queryRunner.query(sql);
    await q(`DROP TABLE "audit"`);
    await q(`DROP FUNCTION "audit_append_only"()`);
    await q(`DROP TABLE "server_secret"`);
    await q(`DROP TABLE "suppressed_identifier"`);
    await q(`DROP TABLE "erasure"`);
    await q(`ALTER TABLE "customer" DROP COLUMN "erased_at"`);
    await q(`UPDATE "identity_conflict" SET "identifier_value" = '' WHERE "identifier_value" IS NULL`);
    await q(`ALTER TABLE "identity_conflict" ALTER COLUMN "identifier_value" SET NOT NULL`);
    await q(`ALTER TABLE "merge" DROP COLUMN "consent_conflicts"`);
    await q(`UPDATE "merge" SET "identifier_value" = '' WHERE "identifier_value" IS NULL`);
    await q(`ALTER TABLE "merge" ALTER COLUMN "identifier_value" SET NOT NULL`);
    await q(`DROP TABLE "consent_state"`);
    await q(`DROP TABLE "consent_decision"`);
    await q(`ALTER TABLE "api_key" DROP COLUMN "rotated_at"`);
    await q(`ALTER TABLE "api_key" DROP COLUMN "last_used_at"`);
  }
}
