import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An append derives a customer's lifecycle from a checkpoint: its lifecycle events within the
 * rules' horizon, its last purchases (the last one gives its latest converted journey) and its
 * last ACCOUNT_CLOSED. This index keeps each of those reads proportional to what it returns, not
 * to the customer's whole history (a device with a hundred thousand page views).
 */
export class LifecycleEventIndex1796100000000 implements MigrationInterface {
  name = 'LifecycleEventIndex1796100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "interaction_lifecycle_idx" ON "interaction" ("customer_id", "type", "occurred_at", "id") WHERE type IN ('PURCHASE', 'REFUND', 'ACCOUNT_CLOSED', 'REFERRAL', 'SURVEY_RESPONSE')`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "interaction_lifecycle_idx"`);
  }
}
