/**
 * npm run schema:emit    writes schema/schema.graphql from the code
 * npm run schema:check   fails when schema/schema.graphql differs from what the code emits
 */
import fs from 'node:fs';
import path from 'node:path';

import { printSortedSchema } from '../graphql/build-schema';

const file = path.join(__dirname, '..', '..', 'schema', 'schema.graphql');
const sdl = printSortedSchema();

if (process.argv.includes('--check')) {
  const committed = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  if (committed !== sdl) {
    console.error('schema/schema.graphql is out of date with the code: run `npm run schema:emit` and commit the result.');
    process.exit(1);
  }
  console.log('schema/schema.graphql matches the code');
} else {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, sdl);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
