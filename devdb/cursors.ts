/**
 * Open cursors: the rest of a result set held for getMore. Ids are positive
 * integers below 2^53 so they survive the driver's Long promotion; replies
 * send them as int64.
 */
import { Long, type Document } from 'bson';
import { randomInt } from 'node:crypto';
import { MongoServerError } from './errors';

/** Cursors idle longer than this are closed (mongod: cursorTimeoutMillis, 10 min). */
const IDLE_MS = 10 * 60_000;

interface OpenCursor {
  ns: string;
  docs: Document[];
  pos: number;
  touched: number;
}

export class CursorRegistry {
  private readonly open = new Map<number, OpenCursor>();

  /** Builds a first-batch reply; keeps a cursor when documents remain. */
  firstBatch(ns: string, docs: Document[], batchSize: number | undefined, singleBatch = false): Document {
    this.sweep();
    const size = batchSize === undefined || batchSize <= 0 ? (batchSize === 0 ? 0 : 101) : batchSize;
    const first = docs.slice(0, size);
    let id = 0;
    if (!singleBatch && docs.length > first.length) {
      do id = randomInt(1, 2 ** 47);
      while (this.open.has(id));
      this.open.set(id, { ns, docs, pos: first.length, touched: Date.now() });
    }
    return { cursor: { firstBatch: first, id: Long.fromNumber(id), ns } };
  }

  getMore(id: unknown, batchSize: number | undefined): Document {
    const key = typeof id === 'number' ? id : Number(id);
    const cur = this.open.get(key);
    if (!cur) throw new MongoServerError('CursorNotFound', `cursor id ${String(id)} not found`);
    const size = batchSize && batchSize > 0 ? batchSize : cur.docs.length;
    const batch = cur.docs.slice(cur.pos, cur.pos + size);
    cur.pos += batch.length;
    cur.touched = Date.now();
    let outId = key;
    if (cur.pos >= cur.docs.length) {
      this.open.delete(key);
      outId = 0;
    }
    return { cursor: { nextBatch: batch, id: Long.fromNumber(outId), ns: cur.ns } };
  }

  kill(ids: unknown[]): Document {
    const killed: Long[] = [];
    const notFound: Long[] = [];
    for (const id of ids) {
      const key = Number(id);
      (this.open.delete(key) ? killed : notFound).push(Long.fromNumber(key));
    }
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [] };
  }

  get size(): number {
    return this.open.size;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, c] of this.open) if (now - c.touched > IDLE_MS) this.open.delete(id);
  }
}
