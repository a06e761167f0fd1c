import { InputError } from './errors';

/*
 * Keyset pagination over (time, id), shared by every list of the API. The GraphQL object types
 * the pages are returned as are in connection.type.ts.
 */

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface PageInfoShape {
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface ConnectionShape<T> {
  edges: Array<Edge<T>>;
  pageInfo: PageInfoShape;
}

/** SQL giving a timestamptz column at full (microsecond) precision, for cursors. */
export const cursorTime = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Keyset cursor over (time, id): opaque to clients, stable under inserts. */
export function encodeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

// Exactly what `cursorTime` writes, and what `uuid` columns read back as (lower case only, unlike
// ids.ts's UUID: a cursor re-encodes to itself or it is not ours).
const CURSOR_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z$/;
const STORED_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Ours are under 100 characters; anything much longer is not worth decoding.
const MAX_CURSOR_LENGTH = 200;

/** A calendar instant PostgreSQL accepts as a timestamptz (years 1 to 9999, no 31 April). */
function isCursorTime(at: string): boolean {
  const match = CURSOR_TIME.exec(at);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  if (year < 1 || hour > 23 || minute > 59 || second > 59) return false;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read years 0–99 as 1900–1999.
  date.setUTCFullYear(year, month - 1, day);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/**
 * The (time, id) pair of a cursor this API wrote, or an InputError on `field`. Strict (the exact
 * time format, a real date, a UUID, the canonical encoding) because whatever passes here goes to
 * SQL as a timestamptz and a uuid, where a forged value would fail as an internal error.
 */
export function decodeCursor(cursor: string | null | undefined, field: string): { at: string; id: string } | null {
  if (!cursor) return null;
  if (cursor.length <= MAX_CURSOR_LENGTH && /^[A-Za-z0-9_-]+$/.test(cursor)) {
    try {
      const pair: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      if (Array.isArray(pair) && pair.length === 2) {
        const [at, id] = pair;
        if (typeof at === 'string' && typeof id === 'string' && isCursorTime(at) && STORED_UUID.test(id) && encodeCursor(at, id) === cursor) {
          return { at, id };
        }
      }
    } catch {
      // not JSON: refused below
    }
  }
  throw new InputError([{ field, message: 'is not a cursor returned by this API' }]);
}

export function checkFirst(first: number, max: number, field: string): void {
  if (!Number.isInteger(first) || first < 0 || first > max) {
    throw new InputError([{ field, message: `must be between 0 and ${max}, got ${first}` }]);
  }
}

/** Cuts a `first + 1` row fetch into a page. */
export function toConnection<T>(rows: T[], first: number, cursorOf: (row: T) => string): ConnectionShape<T> {
  const page = rows.slice(0, first);
  const edges = page.map((node) => ({ cursor: cursorOf(node), node }));
  return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.length ? edges[edges.length - 1].cursor : null } };
}
