/**
 * npm run migration:run                 apply pending migrations
 * npm run migration:revert              undo the last one
 * npm run migration:generate -- Name    write migrations/<timestamp>-Name.ts from the entity changes
 *
 * Uses DATABASE_URL, or the embedded PostgreSQL under .data/ like `npm start`.
 */
import fs from 'node:fs';
import path from 'node:path';

import { runWithDatabase } from './run-with-database';

function quote(sql: string): string {
  return '`' + sql.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${') + '`';
}

const [command, name] = process.argv.slice(2);
if (!['run', 'revert', 'generate'].includes(command ?? '') || (command === 'generate' && !/^[A-Za-z][A-Za-z0-9]*$/.test(name ?? ''))) {
  console.error('usage: migration run | revert | generate <PascalCaseName>');
  process.exit(2);
}

runWithDatabase(async (dataSource) => {
  if (command === 'revert') {
    await dataSource.undoLastMigration({ transaction: 'each' });
    return;
  }
  const applied = await dataSource.runMigrations({ transaction: 'each' });
  console.log(applied.length ? `applied: ${applied.map((m) => m.name).join(', ')}` : 'no pending migration');
  if (command !== 'generate') return;

  const sql = await dataSource.driver.createSchemaBuilder().log();
  if (sql.upQueries.length === 0) {
    console.log('the entities match the database: nothing to generate');
    return;
  }
  const timestamp = Date.now();
  const className = `${name}${timestamp}`;
  const up = sql.upQueries.map((q) => `    await queryRunner.query(${quote(q.query)});`).join('\n');
  const down = sql.downQueries
    .reverse()
    .map((q) => `    await queryRunner.query(${quote(q.query)});`)
    .join('\n');
  const file = path.join(__dirname, '..', '..', 'migrations', `${timestamp}-${name}.ts`);
  fs.writeFileSync(
    file,
    `import type { MigrationInterface, QueryRunner } from 'typeorm';\n\n` +
      `export class ${className} implements MigrationInterface {\n` +
      `  name = '${className}';\n\n` +
      `  async up(queryRunner: QueryRunner): Promise<void> {\n${up}\n  }\n\n` +
      `  async down(queryRunner: QueryRunner): Promise<void> {\n${down}\n  }\n}\n`,
  );
  console.log(`wrote ${path.relative(process.cwd(), file)}: review it, then add ${className} to migrations/index.ts`);
});
