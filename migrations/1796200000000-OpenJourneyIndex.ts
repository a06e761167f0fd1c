import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A segment with `openJourney` asks, for every customer a write touches, whether it has an OPEN
 * journey. By `journey_customer_idx` that read walks all of the customer's journeys (one per
 * purchase: two thousand for a wholesale account), on every write. The open ones are few, and
 * this index finds a customer's without reading the others.
 */
export class OpenJourneyIndex1796200000000 implements MigrationInterface {
  name = 'OpenJourneyIndex1796200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "journey_open_idx" ON "journey" ("customer_id") WHERE status = 'OPEN'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "journey_open_idx"`);
  }
}
