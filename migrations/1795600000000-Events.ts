import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The live event log: one row per published change, written in the transaction that made the
 * change. Rows are read in (xid, seq) order and only once every transaction with a smaller id
 * has ended (snapshot xmin), so a reader never passes a row that commits later.
 */
export class Events1795600000000 implements MigrationInterface {
  name = 'Events1795600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "event" (
      "xid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
      "seq" bigint GENERATED ALWAYS AS IDENTITY,
      "topic" character varying(32) NOT NULL,
      "customer_id" uuid NOT NULL,
      "payload" jsonb NOT NULL,
      "recorded_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "event_pkey" PRIMARY KEY ("xid", "seq"))`);
    await queryRunner.query(`CREATE INDEX "event_recorded_idx" ON "event" ("recorded_at")`);
    // Where pruning has reached: a cursor before it can no longer be replayed without a gap.
    await queryRunner.query(`CREATE TABLE "event_horizon" ("id" smallint PRIMARY KEY CHECK (id = 1), "xid" xid8 NOT NULL, "seq" bigint NOT NULL)`);
    await queryRunner.query(`INSERT INTO "event_horizon" VALUES (1, '0', 0)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "event_horizon"`);
    await queryRunner.query(`DROP TABLE "event"`);
  }
}
