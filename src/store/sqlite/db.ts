/** Small helpers shared by the SQLite repositories: transactions, error mapping, row conversion, change events. */
import type { CellReaders } from '../rows.ts';
import type { EventEmitter } from 'node:events';
import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import type { ChangeEvent } from '../types.ts';

export type Row = Record<string, SQLInputValue>;

/** What every repository gets: the connection and the change bus. */
export interface Ctx {
  db: DatabaseSync;
  events: EventEmitter;
}

export function emit(ctx: Ctx, event: ChangeEvent): void {
  ctx.events.emit('change', event);
}

export function now(): string {
  return new Date().toISOString();
}

/** Runs `fn` in one IMMEDIATE transaction (takes the write lock up front, so no deadlock upgrading later). */
export function tx<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw err;
  }
}

// SQLite extended result codes (https://sqlite.org/rescode.html).
const SQLITE_CONSTRAINT_FOREIGNKEY = 787;
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_UNIQUE = 2067;

/** Runs a statement and turns constraint failures into catalogue errors; `what` names the object for the message. */
export function guard<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const errcode = (err as { errcode?: number }).errcode;
    if (errcode === SQLITE_CONSTRAINT_UNIQUE || errcode === SQLITE_CONSTRAINT_PRIMARYKEY) {
      throw new DrawbridgeError('DB-ADMIN-CONFLICT', `${what} already exists`, { cause: err });
    }
    if (errcode === SQLITE_CONSTRAINT_FOREIGNKEY) {
      throw new DrawbridgeError(
        'DB-ADMIN-CONFLICT',
        `${what} refers to or is used by an object that prevents this change`,
        { cause: err },
      );
    }
    throw err;
  }
}

export function notFound(what: string, id: string): DrawbridgeError {
  return new DrawbridgeError('DB-ADMIN-NOT-FOUND', `${what} ${id} not found`);
}

export const str = (v: unknown): string => v as string;
export const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));
export const bool = (v: unknown): boolean => v === 1 || v === 1n;

/** How node:sqlite hands back cells: 0/1, ISO text, JSON text (store/rows.ts). */
export const cells: CellReaders = {
  bool,
  time: str,
  jsonText: strOrNull,
  object: (v) => JSON.parse(str(v)) as Record<string, unknown>,
};
