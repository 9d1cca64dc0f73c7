/**
 * What every command handler receives, and the handler contract: a handler
 * returns the reply body (without `ok`, `$clusterTime`, `operationTime`) or
 * throws a MongoServerError, which becomes an `{ ok: 0 }` reply. Anything
 * else thrown becomes BadValue — a handler never takes the server down.
 */
import type { Document } from 'bson';
import type { JournalOp } from '../journal-types';
import type { Store, Transaction } from '../engine/store';
import type { CursorRegistry } from '../cursors';
import { MongoServerError, badValue } from '../errors';
import { isNumeric, isUnsafeLong, toNumber } from '../numeric';

export interface ServerInfo {
  host: string;
  port: number;
  replSetName: string;
  startedAt: number;
  connections: () => { current: number; totalCreated: number };
  counters: Record<string, number>;
}

export interface CommandContext {
  db: string;
  cmd: Document;
  store: Store;
  cursors: CursorRegistry;
  server: ServerInfo;
  connectionId: number;
  /** The transaction this command runs in, if any. */
  txn?: Transaction;
  /**
   * Hands ops to the journal. Call it in the same synchronous step that
   * applied them, so the journal's order is the order of application; the
   * server waits for durability before it replies.
   */
  log(ops: JournalOp[]): void;
}

export type Handler = (ctx: CommandContext) => Document | Promise<Document>;

/** The collection name a command targets (its first field's value). */
export function collectionName(ctx: CommandContext): string {
  const name = ctx.cmd[Object.keys(ctx.cmd)[0]];
  if (typeof name !== 'string' || !name) throw new MongoServerError('InvalidOptions', 'collection name must be a non-empty string');
  return name;
}

export function optionalDoc(v: unknown, field: string): Document | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new MongoServerError('TypeMismatch', `${field} must be an object`);
  return v as Document;
}

export function optionalInt(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = isNumeric(v) ? toNumber(v) : NaN;
  if (!Number.isInteger(n)) throw new MongoServerError('TypeMismatch', `${field} must be an integer`);
  return n;
}

/** Refuses 64-bit integers devdb cannot hold exactly (see bson-options.ts). */
export function assertRepresentable(v: unknown, depth = 0): void {
  if (depth > 100) throw badValue('document nesting too deep');
  if (v === null || typeof v !== 'object') return;
  if (isUnsafeLong(v)) throw badValue('devdb holds 64-bit integers only within ±2^53; this value would lose precision');
  if (Array.isArray(v)) {
    for (const x of v) assertRepresentable(x, depth + 1);
    return;
  }
  if ((v as { _bsontype?: string })._bsontype) return;
  for (const x of Object.values(v as Document)) assertRepresentable(x, depth + 1);
}
