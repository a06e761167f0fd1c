import type { Logger, QueryRunner } from 'typeorm';

/**
 * TypeORM logger that counts the SQL statements sent, and reports failures and slow queries.
 * The count lets tests prove that a GraphQL query costs a constant number of statements.
 */
export class QueryCounter implements Logger {
  count = 0;

  constructor(private readonly verbose = false) {}

  logQuery(query: string, parameters?: unknown[], _runner?: QueryRunner): void {
    this.count++;
    if (this.verbose) console.debug('[sql]', query.replace(/\s+/g, ' ').slice(0, 500), parameters?.length ?? 0);
  }

  logQueryError(error: string | Error, query: string): void {
    if (this.verbose) console.debug('[sql error]', error instanceof Error ? error.message : error, query.slice(0, 300));
  }

  logQuerySlow(time: number, query: string): void {
    console.warn(`[sql slow] ${time} ms: ${query.replace(/\s+/g, ' ').slice(0, 300)}`);
  }

  logSchemaBuild(): void {}

  logMigration(message: string): void {
    if (this.verbose) console.log(`[migration] ${message}`);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') console.warn(message);
  }
}
