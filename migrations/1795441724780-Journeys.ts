import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Journeys1795441724780 implements MigrationInterface {
  name = 'Journeys1795441724780';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "journey" ("id" uuid NOT NULL, "customer_id" uuid NOT NULL, "status" character varying(16) NOT NULL, "started_at" TIMESTAMP WITH TIME ZONE NOT NULL, "ended_at" TIMESTAMP WITH TIME ZONE, "last_touch_at" TIMESTAMP WITH TIME ZONE NOT NULL, "furthest_step" character varying(16) NOT NULL, "steps" character varying(16) array NOT NULL, "channels" character varying(16) array NOT NULL, "first_channel" character varying(16) NOT NULL, "last_channel" character varying(16) NOT NULL, "touchpoints" integer NOT NULL, "purchase_interaction_id" uuid, "amount" numeric(18,4), "signature" character(40) NOT NULL, CONSTRAINT "PK_0dfc23b6e61590ef493cf3adcde" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "journey_abandoned_idx" ON "journey" ("status", "ended_at") `);
    await queryRunner.query(`CREATE INDEX "journey_started_idx" ON "journey" ("started_at") `);
    await queryRunner.query(`CREATE INDEX "journey_customer_idx" ON "journey" ("customer_id", "started_at") `);
    await queryRunner.query(`ALTER TABLE "interaction" ADD "journey_id" uuid`);
    await queryRunner.query(`CREATE INDEX "interaction_journey_idx" ON "interaction" ("journey_id") WHERE journey_id IS NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."interaction_journey_idx"`);
    await queryRunner.query(`ALTER TABLE "interaction" DROP COLUMN "journey_id"`);
    await queryRunner.query(`DROP INDEX "public"."journey_customer_idx"`);
    await queryRunner.query(`DROP INDEX "public"."journey_started_idx"`);
    await queryRunner.query(`DROP INDEX "public"."journey_abandoned_idx"`);
    await queryRunner.query(`DROP TABLE "journey"`);
  }
}
