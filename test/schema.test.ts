import fs from 'node:fs';
import path from 'node:path';

import { printSortedSchema } from '../src/graphql/build-schema';

describe('schema/schema.graphql', () => {
  it('is exactly what the code emits (run `npm run schema:emit` after changing the API)', () => {
    const committed = fs.readFileSync(path.join(__dirname, '..', 'schema', 'schema.graphql'), 'utf8');
    expect(committed).toBe(printSortedSchema());
  });
});
