import 'reflect-metadata';

import { Writable } from 'node:stream';

import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { getOperationAST, print, type DocumentNode } from 'graphql';
import type { DataSource } from 'typeorm';

import { loadConfig, type Config } from '../../src/config';
import { createDataSource, queryCounter } from '../../src/data-source';
import { Scope } from '../../src/modules/access/scope.enum';
import { createLogger, type Logger } from '../../src/observability/logger';
import { startServer, type RunningServer } from '../../src/server';
import { RecordInteractionDocument, type RecordInteractionInput, type RecordInteractionMutation } from '../generated/graphql';
import { createTestDatabase } from './test-database';

export interface GraphQLResponse<T> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, any> }>;
}

export interface TestServer {
  url: string;
  dataSource: DataSource;
  server: RunningServer;
  keys: Record<'admin' | 'read' | 'write' | 'readWrite' | 'subscribe', string>;
  /** Runs an operation as `key` (the read+write key by default; null sends no key). */
  gql<TResult, TVars>(document: TypedDocumentNode<TResult, TVars> | DocumentNode, variables?: TVars, key?: string | null): Promise<GraphQLResponse<TResult>>;
  /** recordInteraction that must succeed; its result. */
  record(input: RecordInteractionInput, key?: string): Promise<RecordInteractionMutation['recordInteraction']>;
  /** SQL statements sent while `work` ran. */
  countStatements(work: () => Promise<unknown>): Promise<number>;
  sql<T = any>(query: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** A real server on a free port, on a fresh database of its own, with one key per scope set. */
export async function startTestServer(overrides: Partial<Config> = {}, options: { logger?: Logger } = {}): Promise<TestServer> {
  const db = await createTestDatabase();
  const base = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
  const config: Config = {
    ...base,
    host: '127.0.0.1',
    apiKeyCacheSeconds: 0,
    sweepIntervalSeconds: 0,
    // Tests send bursts on purpose; the rate-limit tests make keys with rates of their own.
    rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
    ...overrides,
  };
  const dataSource = createDataSource(db.url, { poolSize: 24, statementTimeoutMs: config.statementTimeoutMs });
  await dataSource.initialize();
  const server = await startServer(dataSource, config, 0, '127.0.0.1', options);
  const apiKeys = server.services.apiKeys;
  const keys = {
    admin: (await apiKeys.create('test admin', [Scope.ADMIN])).key,
    read: (await apiKeys.create('test reader', [Scope.READ])).key,
    write: (await apiKeys.create('test writer', [Scope.WRITE])).key,
    readWrite: (await apiKeys.create('test partner', [Scope.READ, Scope.WRITE, Scope.PII])).key,
    subscribe: (await apiKeys.create('test dashboard', [Scope.SUBSCRIBE])).key,
  };
  const counter = queryCounter(dataSource);

  const self: TestServer = {
    url: server.url,
    dataSource,
    server,
    keys,
    async gql(document, variables, key = keys.readWrite) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (key) headers.authorization = `Bearer ${key}`;
      const send = () => fetch(server.url, { method: 'POST', headers, body: JSON.stringify({ query: print(document), variables }) });
      const res = await send().catch((error) => {
        // A kept-alive socket the server closed (its keep-alive timeout is 5 s) as the request went
        // out on it: the request never reached the server. HTTP lets a client send an idempotent
        // request again (RFC 9112 §9.3.1); a query is one, a mutation is not. A server that is
        // down refuses the second attempt too.
        if (getOperationAST(document)?.operation === 'query' && error?.cause?.code === 'ECONNRESET') return send();
        throw error;
      });
      const body = (await res.json()) as GraphQLResponse<any>;
      return { ...body, status: res.status };
    },
    async record(input, key) {
      const res = await self.gql(RecordInteractionDocument, { input }, key);
      if (res.errors) throw new Error(`recordInteraction failed: ${JSON.stringify(res.errors)}`);
      return res.data!.recordInteraction;
    },
    async countStatements(work) {
      const before = counter.count;
      await work();
      return counter.count - before;
    },
    sql: (query, params) => dataSource.query(query, params),
    async close() {
      await server.stop();
      await dataSource.destroy();
      await db.drop();
    },
  };
  return self;
}

/** A JSON logger at `level` whose lines are kept, parsed, in `lines`: for tests of what the server logs. */
export function jsonLog(level: 'info' | 'warn' | 'error' = 'info'): { logger: Logger; lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger(level, { format: 'json', destination }), lines };
}
