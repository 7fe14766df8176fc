/** Small helpers shared by the PostgreSQL repositories: transactions, error mapping, row conversion. */
import type { CellReaders } from '../rows.ts';
import type { Pool, PoolClient } from 'pg';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import type { ChangeEvent } from '../types.ts';
import type { ChangeBus } from './changes.ts';

export type Row = Record<string, unknown>;
/** A pool or a checked-out client: anything that runs a query. */
export type Queryable = Pick<Pool, 'query'> | PoolClient;

/** What every repository gets: the pool and the change bus. */
export interface Ctx {
  pool: Pool;
  changes: ChangeBus;
}

export function now(): string {
  return new Date().toISOString();
}

export async function one(q: Queryable, sql: string, values: unknown[] = []): Promise<Row | undefined> {
  return ((await q.query(sql, values)).rows as Row[])[0];
}

export async function all(q: Queryable, sql: string, values: unknown[] = []): Promise<Row[]> {
  return (await q.query(sql, values)).rows as Row[];
}

/** `$1, $2 …` placeholders for a statement built piece by piece: `p(value)` appends the value and names it. */
export function params(): { values: unknown[]; p: (value: unknown) => string } {
  const values: unknown[] = [];
  return { values, p: (value) => `$${values.push(value)}` };
}

/**
 * Runs `fn` in one transaction on one pooled connection. Changes it reports through `changed` are published with
 * NOTIFY inside the transaction (so other nodes hear of them only once committed, and never of a rollback) and
 * delivered to this node's listeners right after COMMIT, before the returned promise resolves.
 */
export async function tx<T>(
  ctx: Ctx,
  fn: (client: PoolClient, changed: (event: ChangeEvent) => void) => Promise<T>,
): Promise<T> {
  const client = await ctx.pool.connect();
  const events: ChangeEvent[] = [];
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    // PostgreSQL folds identical notifications of one transaction into one; so do we, or the echo count would drift.
    const changed = (event: ChangeEvent): void => {
      if (!events.some((e) => JSON.stringify(e) === JSON.stringify(event))) events.push(event);
    };
    const result = await fn(client, changed);
    const published = await ctx.changes.publish(client, events);
    try {
      await client.query('COMMIT');
    } catch (err) {
      published.cancel();
      throw err;
    }
    ctx.changes.deliver(events);
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: Error) => {
      broken = rollbackErr; // the connection is unusable: the pool must drop it, not lend it again
    });
    throw err;
  } finally {
    client.release(broken);
  }
}

// PostgreSQL SQLSTATE codes (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';
const CHECK_VIOLATION = '23514';
const DATA_EXCEPTION_CLASS = '22';

/** Awaits `work` and turns constraint failures into catalogue errors (as sqlite/db.ts `guard` does); `what` names the object. */
export async function guard<T>(what: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || err instanceof DrawbridgeError) throw err;
    if (code === UNIQUE_VIOLATION)
      throw new DrawbridgeError('DB-ADMIN-CONFLICT', `${what} already exists`, { cause: err });
    if (code === FOREIGN_KEY_VIOLATION) {
      throw new DrawbridgeError(
        'DB-ADMIN-CONFLICT',
        `${what} refers to or is used by an object that prevents this change`,
        { cause: err },
      );
    }
    // A value the column type refuses (a time that is not a time, text too long for a type …) is the caller's input.
    if (code === CHECK_VIOLATION || code.startsWith(DATA_EXCEPTION_CLASS)) {
      throw new DrawbridgeError('DB-ADMIN-INVALID', `${what}: a value is not valid for its field`, { cause: err });
    }
    throw err;
  }
}

export function notFound(what: string, id: string): DrawbridgeError {
  return new DrawbridgeError('DB-ADMIN-NOT-FOUND', `${what} ${id} not found`);
}

export const str = (v: unknown): string => v as string;
export const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));
/** timestamptz arrives as a Date (millisecond precision is all we store): back to the ISO text the interface uses. */
export const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));

/** How pg hands back cells: booleans, Dates, parsed jsonb (store/rows.ts). */
export const cells: CellReaders = {
  bool: (v) => v === true,
  time: iso,
  jsonText: (v) => JSON.stringify(v),
  object: (v) => v as Record<string, unknown>,
};
