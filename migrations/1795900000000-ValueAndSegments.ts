import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Customer value (RFM scores and BG/NBD + Gamma-Gamma predictions, as of an instant, with every
 * fitted model kept) and segments: saved definitions, their members kept current by every write,
 * and their sizes over time.
 */
export class ValueAndSegments1795900000000 implements MigrationInterface {
  name = 'ValueAndSegments1795900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const q = (sql: string) => queryRunner.query(sql);
    await q(`CREATE TABLE "value_model" (
      "id" uuid PRIMARY KEY,
      "as_of" TIMESTAMP WITH TIME ZONE NOT NULL,
      "fitted_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "params" jsonb NOT NULL,
      "log_likelihood" double precision NOT NULL,
      "spend_log_likelihood" double precision,
      "customers_fitted" integer NOT NULL,
      "spend_customers_fitted" integer NOT NULL,
      "converged" boolean NOT NULL,
      "fit_ms" integer NOT NULL,
      "rfm_boundaries" jsonb NOT NULL)`);
    await q(`CREATE INDEX "value_model_fitted_idx" ON "value_model" ("fitted_at")`);
    // One row per customer with a purchase as of the model's instant.
    await q(`CREATE TABLE "customer_value" (
      "customer_id" uuid PRIMARY KEY,
      "model_id" uuid NOT NULL,
      "as_of" TIMESTAMP WITH TIME ZONE NOT NULL,
      "recency_days" double precision NOT NULL,
      "order_count" integer NOT NULL,
      "net_revenue" numeric(30,4) NOT NULL,
      "r" smallint NOT NULL,
      "f" smallint NOT NULL,
      "m" smallint NOT NULL,
      "cell" character(3) NOT NULL,
      "segment" character varying(32) NOT NULL,
      "x" integer NOT NULL,
      "tx" double precision NOT NULL,
      "t" double precision NOT NULL,
      "mbar" double precision NOT NULL,
      "p_alive" double precision NOT NULL,
      "clv" double precision NOT NULL)`);
    await q(`CREATE INDEX "customer_value_segment_idx" ON "customer_value" ("segment")`);

    await q(`CREATE TABLE "segment" (
      "id" uuid PRIMARY KEY,
      "name" character varying(100) NOT NULL,
      "description" text,
      "definition" jsonb NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "status" character varying(16) NOT NULL,
      "evaluated" integer NOT NULL DEFAULT 0,
      "to_evaluate" integer NOT NULL DEFAULT 0,
      "version" integer NOT NULL DEFAULT 1,
      "progress_at" TIMESTAMP WITH TIME ZONE)`);
    await q(`CREATE UNIQUE INDEX "segment_name_key" ON "segment" (lower("name"))`);
    await q(`CREATE TABLE "segment_member" (
      "segment_id" uuid NOT NULL REFERENCES "segment"("id") ON DELETE CASCADE,
      "customer_id" uuid NOT NULL,
      "since" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "segment_member_pkey" PRIMARY KEY ("segment_id", "customer_id"))`);
    await q(`CREATE INDEX "segment_member_customer_idx" ON "segment_member" ("customer_id")`);
    await q(`CREATE TABLE "segment_size" (
      "segment_id" uuid NOT NULL REFERENCES "segment"("id") ON DELETE CASCADE,
      "at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "size" integer NOT NULL,
      CONSTRAINT "segment_size_pkey" PRIMARY KEY ("segment_id", "at"))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['segment_size', 'segment_member', 'segment', 'customer_value', 'value_model']) await queryRunner.query(`DROP TABLE "${table}"`);
  }
}
