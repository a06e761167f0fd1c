import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A key may carry its own request rate and burst; null takes the server's defaults. */
export class ApiKeyRateLimit1795700100000 implements MigrationInterface {
  name = 'ApiKeyRateLimit1795700100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "api_key" ADD "rate_limit_per_second" integer`);
    await queryRunner.query(`ALTER TABLE "api_key" ADD "rate_limit_burst" integer`);
    await queryRunner.query(
      `ALTER TABLE "api_key" ADD CONSTRAINT "api_key_rate_limit_check" CHECK (("rate_limit_per_second" IS NULL OR "rate_limit_per_second" > 0) AND ("rate_limit_burst" IS NULL OR "rate_limit_burst" > 0))`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "api_key" DROP CONSTRAINT "api_key_rate_limit_check"`);
    await queryRunner.query(`ALTER TABLE "api_key" DROP COLUMN "rate_limit_burst"`);
    await queryRunner.query(`ALTER TABLE "api_key" DROP COLUMN "rate_limit_per_second"`);
  }
}
