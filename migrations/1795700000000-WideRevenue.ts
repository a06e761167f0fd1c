import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A customer's running sums get room for every amount an interaction can carry: at numeric(18,4)
 * two purchases at the Decimal maximum (99999999999999.9999) overflowed, and every later write of
 * that customer failed for good. numeric(30,4) holds a trillion of them. Interaction and journey
 * amounts are single values, already as wide as the API accepts, and stay numeric(18,4).
 *
 * Widening a numeric's precision at the same scale is binary-compatible in PostgreSQL: no table
 * rewrite, and customer_stage_idx (stage, net_revenue) is kept as it is.
 */
export class WideRevenue1795700000000 implements MigrationInterface {
  name = 'WideRevenue1795700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "customer" ALTER COLUMN "gross_revenue" TYPE numeric(30,4), ALTER COLUMN "refunds" TYPE numeric(30,4), ALTER COLUMN "net_revenue" TYPE numeric(30,4)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Narrowing would fail half-way with a bare "numeric field overflow": say which rows stop it.
    await queryRunner.query(`DO $$
      DECLARE n bigint;
      BEGIN
        SELECT count(*) INTO n FROM "customer"
         WHERE greatest(abs("gross_revenue"), abs("refunds"), abs("net_revenue")) >= 100000000000000;
        IF n > 0 THEN
          RAISE EXCEPTION 'WideRevenue down: % customer(s) have revenue sums of 10^14 or more, which numeric(18,4) cannot hold', n;
        END IF;
      END $$`);
    await queryRunner.query(
      `ALTER TABLE "customer" ALTER COLUMN "gross_revenue" TYPE numeric(18,4), ALTER COLUMN "refunds" TYPE numeric(18,4), ALTER COLUMN "net_revenue" TYPE numeric(18,4)`,
    );
  }
}
