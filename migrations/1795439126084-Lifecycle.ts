import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Lifecycle1795439126084 implements MigrationInterface {
  name = 'Lifecycle1795439126084';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "lifecycle_transition" ("id" uuid NOT NULL, "customer_id" uuid NOT NULL, "from_stage" character varying(16), "to_stage" character varying(16) NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL, "rule_number" smallint NOT NULL, "rule_name" character varying(64) NOT NULL, "cause_interaction_id" uuid, "facts" jsonb NOT NULL, "recorded_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_b4d18db2fb0b02b46d1120c5613" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "lifecycle_transition_at_idx" ON "lifecycle_transition" ("at", "id") `);
    await queryRunner.query(`CREATE INDEX "lifecycle_transition_customer_idx" ON "lifecycle_transition" ("customer_id", "at") `);
    await queryRunner.query(`ALTER TABLE "customer" ADD "stage" character varying(16) NOT NULL DEFAULT 'PROSPECT'`);
    await queryRunner.query(`ALTER TABLE "customer" ADD "stage_since" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "customer" ADD "evaluated_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "customer" ADD "next_evaluation_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "customer" ADD "order_count" integer NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE "customer" ADD "gross_revenue" numeric(18,4) NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE "customer" ADD "refunds" numeric(18,4) NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE "customer" ADD "net_revenue" numeric(18,4) NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE "customer" ADD "first_purchase_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "customer" ADD "last_purchase_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "customer" ADD "last_interaction_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "customer" ADD "last_nps_score" smallint`);
    await queryRunner.query(`CREATE INDEX "customer_stage_idx" ON "customer" ("stage", "net_revenue") WHERE merged_into_id IS NULL`);
    await queryRunner.query(`CREATE INDEX "customer_due_idx" ON "customer" ("next_evaluation_at") WHERE next_evaluation_at IS NOT NULL AND merged_into_id IS NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."customer_due_idx"`);
    await queryRunner.query(`DROP INDEX "public"."customer_stage_idx"`);
    await queryRunner.query(`ALTER TABLE "customer" DROP COLUMN "last_nps_score"`);
    await queryRunner.query(`ALTER TABLE "customer" DROP COLUMN "last_interaction_at"`);
    await queryRunner.query(`ALTER TABLE "customer" DROP COLUMN "last_purchase_at"`);
    await queryRunner.query(`ALTER TABLE "customer" DROP COLUMN "first_purchase_at"`);
    await queryRunner.query(`ALTER TABLE "customer" DROP COLUMN "net_revenue"`);
    await queryRunner.query(`ALTER TABLE "customer" DROP COLUMN "refunds"`);
    await queryRunner.query(`ALTER TABLE "customer" DROP COLUMN "gross_revenue"`);
    await queryRunner.query(`ALTER TABLE "customer" DROP COLUMN "order_count"`);
    await queryRunner.query(`ALTER TABLE "customer" DROP COLUMN "next_evaluation_at"`);
    await queryRunner.query(`ALTER TABLE "customer" DROP COLUMN "evaluated_at"`);
    await queryRunner.query(`ALTER TABLE "customer" DROP COLUMN "stage_since"`);
    await queryRunner.query(`ALTER TABLE "customer" DROP COLUMN "stage"`);
    await queryRunner.query(`DROP INDEX "public"."lifecycle_transition_customer_idx"`);
    await queryRunner.query(`DROP INDEX "public"."lifecycle_transition_at_idx"`);
    await queryRunner.query(`DROP TABLE "lifecycle_transition"`);
  }
}
