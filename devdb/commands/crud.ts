/**
 * Reads and writes: find/getMore/killCursors, insert, update, delete,
 * findAndModify, count, distinct. Every write statement computes its result
 * first and then applies it in one synchronous step, so concurrent commands
 * never see half a statement.
 */
import { ObjectId, type Document } from 'bson';
import type { Collection } from '../engine/collection';
import { compileFilter, parseSort, project, sortDocuments } from '../engine/query';
import { applyUpdate, buildUpsert, type UpdateSpec } from '../engine/update';
import { MongoServerError, badValue, toServerError } from '../errors';
import type { JournalOp } from '../journal-types';
import { keyOf, pathValues } from '../values';
import { assertRepresentable, collectionName, optionalDoc, optionalInt, type CommandContext, type Handler } from './context';

function refuseCollation(cmd: Document): void {
  if (cmd.collation && Object.keys(cmd.collation).length) throw new MongoServerError('BadValue', 'devdb does not support collation');
}

/** Runs a query: filter, sort, skip, limit; projection last. */
function query(ctx: CommandContext, coll: Collection | undefined, filter: Document | undefined, opts: { sort?: unknown; skip?: number; limit?: number } = {}): Document[] {
  assertRepresentable(filter);
  const pred = compileFilter(filter);
  let docs = ctx.store.find(coll, filter, pred, ctx.txn);
  docs = sortDocuments(docs, parseSort(opts.sort));
  if (opts.skip) docs = docs.slice(opts.skip);
  if (opts.limit) docs = docs.slice(0, opts.limit);
  return docs;
}

export const find: Handler = (ctx) => {
  const name = collectionName(ctx);
  refuseCollation(ctx.cmd);
  const skip = optionalInt(ctx.cmd.skip, 'skip') ?? 0;
  const rawLimit = optionalInt(ctx.cmd.limit, 'limit') ?? 0;
  if (skip < 0) throw badValue('skip must be non-negative');
  const limit = Math.abs(rawLimit);
  const coll = ctx.store.collection(ctx.db, name);
  const docs = query(ctx, coll, optionalDoc(ctx.cmd.filter, 'filter'), { sort: ctx.cmd.sort, skip, limit });
  const out = project(docs, ctx.cmd.projection);
  const singleBatch = ctx.cmd.singleBatch === true || rawLimit < 0;
  return ctx.cursors.firstBatch(`${ctx.db}.${name}`, out, optionalInt(ctx.cmd.batchSize, 'batchSize'), singleBatch);
};

export const getMore: Handler = (ctx) => ctx.cursors.getMore(ctx.cmd.getMore, optionalInt(ctx.cmd.batchSize, 'batchSize'));

export const killCursors: Handler = (ctx) => {
  if (!Array.isArray(ctx.cmd.cursors)) throw badValue('cursors must be an array');
  return ctx.cursors.kill(ctx.cmd.cursors);
};

export const count: Handler = (ctx) => {
  const coll = ctx.store.collection(ctx.db, collectionName(ctx));
  const docs = query(ctx, coll, optionalDoc(ctx.cmd.query, 'query'), { skip: optionalInt(ctx.cmd.skip, 'skip'), limit: Math.abs(optionalInt(ctx.cmd.limit, 'limit') ?? 0) });
  return { n: docs.length };
};

export const distinct: Handler = (ctx) => {
  if (typeof ctx.cmd.key !== 'string') throw badValue('distinct needs a key');
  const coll = ctx.store.collection(ctx.db, collectionName(ctx));
  const seen = new Map<string, unknown>();
  for (const doc of query(ctx, coll, optionalDoc(ctx.cmd.query, 'query'))) {
    for (const v of pathValues(doc, ctx.cmd.key)) {
      for (const x of Array.isArray(v) ? v : [v]) if (x !== undefined && !seen.has(keyOf(x))) seen.set(keyOf(x), x);
    }
  }
  return { values: [...seen.values()] };
};

/** Runs `fn` for each statement; ordered stops at the first error, unordered goes on. */
async function statements<T>(ctx: CommandContext, items: T[], fn: (item: T, index: number) => Promise<void> | void): Promise<{ writeErrors: Document[] }> {
  const ordered = ctx.cmd.ordered !== false;
  const writeErrors: Document[] = [];
  for (let i = 0; i < items.length; i++) {
    try {
      await fn(items[i], i);
    } catch (err) {
      const e = toServerError(err);
      // Inside a transaction a failed statement fails the command (and mongod aborts the transaction).
      if (ctx.txn) throw e;
      writeErrors.push(e.toWriteError(i));
      if (ordered) break;
    }
  }
  return { writeErrors };
}

function withErrors(reply: Document, writeErrors: Document[]): Document {
  if (writeErrors.length) reply.writeErrors = writeErrors;
  return reply;
}

/** Applies computed writes to one collection, waiting for transactions that hold the documents. */
async function applyWrites(ctx: CommandContext, coll: Collection, compute: () => Array<{ id: string; after: Document | null }>): Promise<Array<{ id: string; after: Document | null }>> {
  for (;;) {
    const writes = compute();
    if (ctx.txn) {
      for (const w of writes) ctx.store.writeInTransaction(ctx.txn, coll, w.id, w.after);
      return writes;
    }
    const holders = ctx.store.lockedBy(
      coll,
      writes.map((w) => w.id),
    );
    if (holders.length) {
      await ctx.store.waitForLocks(holders);
      continue;
    }
    const ops: JournalOp[] = [];
    try {
      for (const w of writes) ctx.store.writeCommitted(coll, w.id, w.after, ops);
    } finally {
      ctx.log(ops);
    }
    return writes;
  }
}

export const insert: Handler = async (ctx) => {
  const name = collectionName(ctx);
  const documents = ctx.cmd.documents;
  if (!Array.isArray(documents)) throw badValue('insert needs a documents array');
  const coll = ensureCollection(ctx, name);
  let n = 0;
  const { writeErrors } = await statements(ctx, documents as Document[], async (raw) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw badValue('document to insert must be an object');
    assertRepresentable(raw);
    const doc: Document = raw._id === undefined ? { _id: new ObjectId(), ...raw } : raw;
    if (Array.isArray(doc._id)) throw badValue('The _id field cannot be an array');
    const id = keyOf(doc._id);
    await applyWrites(
      ctx,
      coll,
      () => {
        if (ctx.store.get(coll, id, ctx.txn)) throw coll.duplicateId(doc);
        return [{ id, after: doc }];
      },
    );
    n++;
  });
  return withErrors({ n }, writeErrors);
};

function ensureCollection(ctx: CommandContext, name: string): Collection {
  const ops: JournalOp[] = [];
  const coll = ctx.store.ensureCollection(ctx.db, name, ops);
  ctx.log(ops);
  return coll;
}

function targets(ctx: CommandContext, coll: Collection, filter: Document | undefined, multi: boolean, sort?: unknown): Document[] {
  const docs = query(ctx, coll, filter, { sort });
  return multi ? docs : docs.slice(0, 1);
}

interface UpdateOutcome {
  matched: number;
  modified: number;
  upsertedId?: unknown;
  before?: Document;
  after?: Document;
}

async function updateStatement(ctx: CommandContext, coll: Collection, q: Document | undefined, u: UpdateSpec, opts: { multi: boolean; upsert: boolean; arrayFilters?: Document[]; sort?: unknown }): Promise<UpdateOutcome> {
  assertRepresentable(u);
  if (!u || typeof u !== 'object') throw badValue('update must be an object or a pipeline');
  if (opts.multi && !Array.isArray(u) && Object.keys(u).length && !Object.keys(u)[0].startsWith('$')) throw new MongoServerError('FailedToParse', 'multi update is not supported for replacement-style update');
  const outcome: UpdateOutcome = { matched: 0, modified: 0 };
  await applyWrites(
    ctx,
    coll,
    () => {
      outcome.matched = 0;
      outcome.modified = 0;
      outcome.upsertedId = undefined;
      const found = targets(ctx, coll, q, opts.multi, opts.sort);
      outcome.matched = found.length;
      if (!found.length) {
        if (!opts.upsert) return [];
        const doc = buildUpsert(q, u, { arrayFilters: opts.arrayFilters });
        assertRepresentable(doc);
        const id = keyOf(doc._id);
        if (ctx.store.get(coll, id, ctx.txn)) throw coll.duplicateId(doc);
        outcome.upsertedId = doc._id;
        outcome.after = doc;
        return [{ id, after: doc }];
      }
      const writes: Array<{ id: string; after: Document }> = [];
      for (const before of found) {
        const after = applyUpdate(before, u, { arrayFilters: opts.arrayFilters, filter: q });
        outcome.before ??= before;
        outcome.after ??= after;
        if (keyOf(after) === keyOf(before)) continue;
        outcome.modified++;
        writes.push({ id: keyOf(before._id), after });
      }
      return writes;
    },
  );
  return outcome;
}

export const update: Handler = async (ctx) => {
  const name = collectionName(ctx);
  if (!Array.isArray(ctx.cmd.updates)) throw badValue('update needs an updates array');
  // Only an upsert creates a missing collection; an update that matches nothing leaves no trace.
  const upserts = (ctx.cmd.updates as Document[]).some((u) => u && u.upsert === true);
  const existing = ctx.store.collection(ctx.db, name);
  if (!existing && !upserts) return { n: 0, nModified: 0 };
  const coll = existing ?? ensureCollection(ctx, name);
  let n = 0;
  let nModified = 0;
  const upserted: Document[] = [];
  const { writeErrors } = await statements(ctx, ctx.cmd.updates as Document[], async (stmt, index) => {
    refuseCollation(stmt);
    const r = await updateStatement(ctx, coll, optionalDoc(stmt.q, 'q'), stmt.u as UpdateSpec, { multi: stmt.multi === true, upsert: stmt.upsert === true, arrayFilters: stmt.arrayFilters as Document[] | undefined });
    if (r.upsertedId !== undefined) {
      upserted.push({ index, _id: r.upsertedId });
      n += 1;
    } else {
      n += r.matched;
      nModified += r.modified;
    }
  });
  const reply: Document = { n, nModified };
  if (upserted.length) reply.upserted = upserted;
  return withErrors(reply, writeErrors);
};

export const remove: Handler = async (ctx) => {
  const name = collectionName(ctx);
  if (!Array.isArray(ctx.cmd.deletes)) throw badValue('delete needs a deletes array');
  const coll = ctx.store.collection(ctx.db, name);
  let n = 0;
  const { writeErrors } = await statements(ctx, ctx.cmd.deletes as Document[], async (stmt) => {
    refuseCollation(stmt);
    const limit = stmt.limit ?? 0;
    if (limit !== 0 && limit !== 1) throw badValue('delete limit must be 0 or 1');
    if (!coll) return;
    const writes = await applyWrites(ctx, coll, () => targets(ctx, coll, optionalDoc(stmt.q, 'q'), limit === 0).map((d) => ({ id: keyOf(d._id), after: null })));
    n += writes.length;
  });
  return withErrors({ n }, writeErrors);
};

export const findAndModify: Handler = async (ctx) => {
  const name = collectionName(ctx);
  refuseCollation(ctx.cmd);
  const q = optionalDoc(ctx.cmd.query, 'query');
  const existing = ctx.store.collection(ctx.db, name);
  if (!existing && ctx.cmd.upsert !== true) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null };
  const coll = existing ?? ensureCollection(ctx, name);
  const fields = ctx.cmd.fields;
  const shape = (d: Document | undefined) => (d ? project([d], fields)[0] : null);
  if (ctx.cmd.remove === true) {
    if (ctx.cmd.update !== undefined) throw badValue('Cannot specify both an update and remove=true');
    let removed: Document | undefined;
    await applyWrites(
      ctx,
      coll,
      () => {
        removed = targets(ctx, coll, q, false, ctx.cmd.sort)[0];
        return removed ? [{ id: keyOf(removed._id), after: null }] : [];
      },
    );
    return { lastErrorObject: { n: removed ? 1 : 0 }, value: shape(removed) };
  }
  if (ctx.cmd.update === undefined) throw badValue('Either an update or remove=true must be specified');
  const r = await updateStatement(ctx, coll, q, ctx.cmd.update as UpdateSpec, { multi: false, upsert: ctx.cmd.upsert === true, arrayFilters: ctx.cmd.arrayFilters as Document[] | undefined, sort: ctx.cmd.sort });
  const lastErrorObject: Document = { n: r.matched || (r.upsertedId !== undefined ? 1 : 0), updatedExisting: r.matched > 0 };
  if (r.upsertedId !== undefined) lastErrorObject.upserted = r.upsertedId;
  const value = ctx.cmd.new === true ? shape(r.after) : shape(r.before);
  return { lastErrorObject, value };
};
