import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Init1795436340561 implements MigrationInterface {
  name = 'Init1795436340561';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "api_key" ("id" uuid NOT NULL, "name" character varying(100) NOT NULL, "prefix" character varying(16) NOT NULL, "key_hash" character(64) NOT NULL, "scopes" character varying(16) array NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "revoked_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_b1bd840641b8acbaad89c3d8d11" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE UNIQUE INDEX "api_key_hash_key" ON "api_key" ("key_hash") `);
    await queryRunner.query(`CREATE TABLE "customer" ("id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, "traits" jsonb NOT NULL DEFAULT '{}', "channels" character varying(16) array NOT NULL DEFAULT '{}', "merged_into_id" uuid, CONSTRAINT "PK_a7a13f4cacb744524e44dfdad32" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "customer_merged_into_idx" ON "customer" ("merged_into_id") WHERE merged_into_id IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX "customer_updated_idx" ON "customer" ("updated_at") WHERE merged_into_id IS NULL`);
    await queryRunner.query(`CREATE INDEX "customer_page_idx" ON "customer" ("created_at", "id") WHERE merged_into_id IS NULL`);
    await queryRunner.query(`CREATE TABLE "identifier" ("id" uuid NOT NULL, "type" character varying(16) NOT NULL, "value" character varying(256) NOT NULL, "raw_value" character varying(256) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "customer_id" uuid NOT NULL, CONSTRAINT "PK_d3d2abb5833f4695e48610f5b6b" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "identifier_customer_idx" ON "identifier" ("customer_id") `);
    await queryRunner.query(`CREATE UNIQUE INDEX "identifier_type_value_key" ON "identifier" ("type", "value") `);
    await queryRunner.query(`CREATE TABLE "identity_conflict" ("id" uuid NOT NULL, "customer_id" uuid NOT NULL, "other_customer_ids" uuid array NOT NULL, "identifier_type" character varying(16) NOT NULL, "identifier_value" character varying(256) NOT NULL, "interaction_id" uuid, "reason" text NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_da9924cd22119317e0fec76a9d9" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "identity_conflict_customer_idx" ON "identity_conflict" ("customer_id", "at") `);
    await queryRunner.query(`CREATE TABLE "merge" ("id" uuid NOT NULL, "survivor_id" uuid NOT NULL, "merged_id" uuid NOT NULL, "identifier_type" character varying(16) NOT NULL, "identifier_value" character varying(256) NOT NULL, "interaction_id" uuid, "at" TIMESTAMP WITH TIME ZONE NOT NULL, "moved" jsonb NOT NULL, CONSTRAINT "PK_d6e0a42a60b854bac4086782cf2" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "merge_merged_idx" ON "merge" ("merged_id") `);
    await queryRunner.query(`CREATE INDEX "merge_survivor_idx" ON "merge" ("survivor_id", "at") `);
    await queryRunner.query(`CREATE TABLE "interaction" ("id" uuid NOT NULL, "external_id" character varying(200), "channel" character varying(16) NOT NULL, "type" character varying(32) NOT NULL, "name" character varying(200), "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL, "received_at" TIMESTAMP WITH TIME ZONE NOT NULL, "amount" numeric(18,4), "currency" character(3), "nps_score" smallint, "properties" jsonb NOT NULL DEFAULT '{}', "identifiers" jsonb NOT NULL DEFAULT '[]', "customer_id" uuid NOT NULL, "api_key_id" uuid NOT NULL, CONSTRAINT "PK_9204371ccb2c9dab5428b406413" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE UNIQUE INDEX "interaction_external_id_key" ON "interaction" ("api_key_id", "external_id") WHERE external_id IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX "interaction_customer_time_idx" ON "interaction" ("customer_id", "occurred_at", "id") `);
    await queryRunner.query(`ALTER TABLE "identifier" ADD CONSTRAINT "FK_3eb233436fb0a0d2877a2d261dd" FOREIGN KEY ("customer_id") REFERENCES "customer"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    await queryRunner.query(`ALTER TABLE "interaction" ADD CONSTRAINT "FK_eef24a9f959ed87ca6f639c6d20" FOREIGN KEY ("customer_id") REFERENCES "customer"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    await queryRunner.query(`ALTER TABLE "interaction" ADD CONSTRAINT "FK_3b19b25dbd12b2571042f58afc4" FOREIGN KEY ("api_key_id") REFERENCES "api_key"("id") ON DELETE NO ACTION ON UPDATE NO ACTION`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "interaction" DROP CONSTRAINT "FK_3b19b25dbd12b2571042f58afc4"`);
    await queryRunner.query(`ALTER TABLE "interaction" DROP CONSTRAINT "FK_eef24a9f959ed87ca6f639c6d20"`);
    await queryRunner.query(`ALTER TABLE "identifier" DROP CONSTRAINT "FK_3eb233436fb0a0d2877a2d261dd"`);
    await queryRunner.query(`DROP INDEX "public"."interaction_customer_time_idx"`);
    await queryRunner.query(`DROP INDEX "public"."interaction_external_id_key"`);
    await queryRunner.query(`DROP TABLE "interaction"`);
    await queryRunner.query(`DROP INDEX "public"."merge_survivor_idx"`);
    await queryRunner.query(`DROP INDEX "public"."merge_merged_idx"`);
    await queryRunner.query(`DROP TABLE "merge"`);
    await queryRunner.query(`DROP INDEX "public"."identity_conflict_customer_idx"`);
    await queryRunner.query(`DROP TABLE "identity_conflict"`);
    await queryRunner.query(`DROP INDEX "public"."identifier_type_value_key"`);
    await queryRunner.query(`DROP INDEX "public"."identifier_customer_idx"`);
    await queryRunner.query(`DROP TABLE "identifier"`);
    await queryRunner.query(`DROP INDEX "public"."customer_page_idx"`);
    await queryRunner.query(`DROP INDEX "public"."customer_updated_idx"`);
    await queryRunner.query(`DROP INDEX "public"."customer_merged_into_idx"`);
    await queryRunner.query(`DROP TABLE "customer"`);
    await queryRunner.query(`DROP INDEX "public"."api_key_hash_key"`);
    await queryRunner.query(`DROP TABLE "api_key"`);
  }
}
