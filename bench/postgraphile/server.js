'use strict';
/**
 * PostGraphile v4 over the tables of Customer Graph (schema `public` of DATABASE_URL): the
 * baseline bench/read.ts measures the API against.
 *
 *   DATABASE_URL=postgres://... [PORT=0] [HOST=127.0.0.1] [PG_POOL_SIZE=20] node bench/postgraphile/server.js
 *
 * GraphQL at POST /graphql. Prints one line of JSON, {"port": N}, once the schema is built and
 * the port is open. PG_POOL_SIZE defaults to the API's own DB_POOL_SIZE default, so that neither
 * side gets more connections.
 */
const http = require('node:http');

const { Pool } = require('pg');
const { postgraphile, makeJSONPgSmartTagsPlugin } = require('postgraphile');

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('DATABASE_URL is required');
  process.exit(1);
}
const port = Number(process.env.PORT || 0);
const host = process.env.HOST || '127.0.0.1';
const pool = new Pool({ connectionString: databaseUrl, max: Number(process.env.PG_POOL_SIZE || 20), application_name: 'postgraphile' });

// identifier (type, value) is a unique index, not a unique constraint, and PostGraphile makes its
// row-by-key fields from constraints only: the tag declares the key without touching the database.
const uniqueIdentifier = makeJSONPgSmartTagsPlugin({
  version: 1,
  config: { class: { identifier: { tags: { unique: 'type,value' } } } },
});

const middleware = postgraphile(pool, 'public', {
  simpleCollections: 'only',
  disableQueryLog: true,
  graphiql: false,
  watchPg: false,
  dynamicJson: true,
  setofFunctionsContainNulls: false,
  retryOnInitFail: false,
  appendPlugins: [uniqueIdentifier],
});

async function main() {
  // Built before the port opens: the first measured request must not pay for introspection.
  await middleware.getGraphQLSchema();
  const server = http.createServer(middleware);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);

  const stop = () => {
    server.close();
    server.closeAllConnections();
    pool.end().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
