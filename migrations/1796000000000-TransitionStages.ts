import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What lifecycleDistribution reads, from indexes alone (index-only scans, where the visibility map
 * allows) instead of every transition row with its facts:
 * - both indexes of lifecycle_transition also carry from_stage and to_stage: the (at, id) one for
 *   the stage changes on one side of an instant, the (customer_id, at) one for those of merged
 *   customers. Same indexes, same names, so no extra write cost; keyset paging by (at, id) and the
 *   look-ups by customer use them as before;
 * - customers without any interaction (created by identify, counted as PROSPECT once created) get
 *   a small partial index by creation time. It only holds those rows, and updates of everyone else
 *   leave it alone.
 */
export class TransitionStages1796000000000 implements MigrationInterface {
  name = 'TransitionStages1796000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."lifecycle_transition_at_idx"`);
    await queryRunner.query(`CREATE INDEX "lifecycle_transition_at_idx" ON "lifecycle_transition" ("at", "id") INCLUDE ("from_stage", "to_stage")`);
    await queryRunner.query(`DROP INDEX "public"."lifecycle_transition_customer_idx"`);
    await queryRunner.query(`CREATE INDEX "lifecycle_transition_customer_idx" ON "lifecycle_transition" ("customer_id", "at") INCLUDE ("from_stage", "to_stage")`);
    await queryRunner.query(`CREATE INDEX "customer_no_interaction_idx" ON "customer" ("created_at") WHERE last_interaction_at IS NULL AND merged_into_id IS NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."customer_no_interaction_idx"`);
    await queryRunner.query(`DROP INDEX "public"."lifecycle_transition_customer_idx"`);
    await queryRunner.query(`CREATE INDEX "lifecycle_transition_customer_idx" ON "lifecycle_transition" ("customer_id", "at") `);
    await queryRunner.query(`DROP INDEX "public"."lifecycle_transition_at_idx"`);
    await queryRunner.query(`CREATE INDEX "lifecycle_transition_at_idx" ON "lifecycle_transition" ("at", "id") `);
  }
}
