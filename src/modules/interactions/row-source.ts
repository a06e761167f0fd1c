import type { Param } from '../../db/params';

/**
 * The `FROM` source of a write's rows, given one array per column and its array cast:
 * `unnest(...)` for several rows, a one-row `SELECT` of scalars for one. A single write then
 * gets a generic plan of its prepared statement (PostgreSQL plans `unnest` of a parameter for
 * ten rows, finds that dearer than the one-row plan, and would plan the statement on every call).
 */
export function rowSource($: Param, columns: ReadonlyArray<readonly [values: readonly unknown[], cast: string]>): string {
  if (columns.length > 0 && columns[0][0].length === 1) return `(SELECT ${columns.map(([values, cast]) => $(values[0], cast.replace(/\[\]$/, ''))).join(', ')})`;
  return `unnest(${columns.map(([values, cast]) => $(values, cast)).join(', ')})`;
}
