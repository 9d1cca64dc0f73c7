/**
 * Databases, collections and indexes: create, drop, list, createIndexes,
 * listIndexes, dropIndexes.
 */
import { Long, type Document } from 'bson';
import { Index } from '../engine/indexes';
import { compileFilter } from '../engine/query';
import { MongoServerError, badValue } from '../errors';
import type { JournalOp } from '../journal-types';
import { collectionName, type CommandContext, type Handler } from './context';

const SUPPORTED_CREATE_OPTIONS = new Set(['create', '$db', 'lsid', '$clusterTime', 'writeConcern', 'txnNumber', 'autocommit', 'startTransaction', '$readPreference', 'comment', 'validator', 'validationLevel', 'validationAction']);

const META_FIELDS = new Set(['create', '$db', 'lsid', '$clusterTime', 'writeConcern', 'txnNumber', 'autocommit', 'startTransaction', '$readPreference', 'comment']);

export const create: Handler = async (ctx) => {
  const name = collectionName(ctx);
  const existing = ctx.store.collection(ctx.db, name);
  if (existing) {
    // MongoDB 7: creating an existing collection with the same options is a no-op.
    const asked = Object.keys(ctx.cmd).filter((k) => !META_FIELDS.has(k));
    if (asked.length === 0 && Object.keys(existing.options).length === 0) return {};
    throw new MongoServerError('NamespaceExists', `Collection ${ctx.db}.${name} already exists with different options.`);
  }
  for (const k of Object.keys(ctx.cmd)) {
    if (!SUPPORTED_CREATE_OPTIONS.has(k)) throw new MongoServerError('InvalidOptions', `devdb does not support the create option ${k}`);
  }
  if (ctx.cmd.validator) throw new MongoServerError('InvalidOptions', 'devdb does not support collection validators');
  const ops: JournalOp[] = [];
  ctx.store.createCollection(ctx.db, name, {}, ops);
  ctx.log(ops);
  return {};
};

export const drop: Handler = async (ctx) => {
  const name = collectionName(ctx);
  const coll = ctx.store.collection(ctx.db, name);
  const ops: JournalOp[] = [];
  // MongoDB 7 answers ok for a collection that does not exist.
  if (!coll) return { ns: `${ctx.db}.${name}` };
  const nIndexesWas = coll.listIndexSpecs().length;
  ctx.store.dropCollection(ctx.db, name, ops);
  ctx.log(ops);
  return { ns: `${ctx.db}.${name}`, nIndexesWas };
};

export const dropDatabase: Handler = async (ctx) => {
  const ops: JournalOp[] = [];
  ctx.store.dropDatabase(ctx.db, ops);
  ctx.log(ops);
  return { dropped: ctx.db };
};

export const listDatabases: Handler = (ctx) => {
  const databases = ctx.store.databaseNames().map((name) => ({ name, sizeOnDisk: 0, empty: false }));
  const filter = ctx.cmd.filter ? compileFilter(ctx.cmd.filter) : () => true;
  const shown = databases.filter((d) => filter(d));
  if (ctx.cmd.nameOnly) return { databases: shown.map((d) => ({ name: d.name })) };
  return { databases: shown, totalSize: 0, totalSizeMb: 0 };
};

export const listCollections: Handler = (ctx) => {
  const entries = ctx.store.collections(ctx.db).map((c) => ({
    name: c.name,
    type: 'collection',
    options: c.options,
    info: { readOnly: false },
    idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
  }));
  const filter = ctx.cmd.filter ? compileFilter(ctx.cmd.filter) : () => true;
  const shown = entries.filter((e) => filter(e)).map((e) => (ctx.cmd.nameOnly ? { name: e.name, type: e.type } : e));
  return { cursor: { id: Long.ZERO, ns: `${ctx.db}.$cmd.listCollections`, firstBatch: shown } };
};

export const createIndexes: Handler = async (ctx) => {
  const name = collectionName(ctx);
  if (!Array.isArray(ctx.cmd.indexes) || !ctx.cmd.indexes.length) throw badValue('createIndexes needs a non-empty indexes array');
  const specs = (ctx.cmd.indexes as Document[]).map((raw) => Index.validate(raw));
  const ops: JournalOp[] = [];
  const existed = !!ctx.store.collection(ctx.db, name);
  const coll = ctx.store.ensureCollection(ctx.db, name, ops);
  const before = coll.listIndexSpecs().length;
  try {
    for (const spec of specs) {
      if (coll.createIndex(spec) === 'created') ops.push({ op: 'createIndex', db: ctx.db, coll: name, spec });
    }
  } finally {
    ctx.log(ops);
  }
  return { createdCollectionAutomatically: !existed, numIndexesBefore: before, numIndexesAfter: coll.listIndexSpecs().length };
};

function requireCollection(ctx: CommandContext, name: string) {
  const coll = ctx.store.collection(ctx.db, name);
  if (!coll) throw new MongoServerError('NamespaceNotFound', `ns does not exist: ${ctx.db}.${name}`);
  return coll;
}

export const listIndexes: Handler = (ctx) => {
  const name = collectionName(ctx);
  const coll = requireCollection(ctx, name);
  return { cursor: { id: Long.ZERO, ns: `${ctx.db}.${name}`, firstBatch: coll.listIndexSpecs() } };
};

export const dropIndexes: Handler = async (ctx) => {
  const name = collectionName(ctx);
  const coll = requireCollection(ctx, name);
  const before = coll.listIndexSpecs().length;
  const which = ctx.cmd.index;
  let names: string[];
  if (which === '*') names = [...coll.indexes.keys()];
  else if (typeof which === 'string') names = [which];
  else if (Array.isArray(which)) names = which.map(String);
  else if (which && typeof which === 'object') {
    const match = [...coll.indexes.values()].find((i) => JSON.stringify(i.spec.key) === JSON.stringify(which));
    if (!match) throw new MongoServerError('IndexNotFound', `can't find index with key: ${JSON.stringify(which)}`);
    names = [match.spec.name];
  } else throw badValue('dropIndexes needs an index name, key pattern, list or "*"');
  if (names.includes('_id_')) throw new MongoServerError('InvalidOptions', 'cannot drop _id index');
  const ops: JournalOp[] = [];
  try {
    for (const n of names) {
      coll.dropIndex(n);
      ops.push({ op: 'dropIndex', db: ctx.db, coll: name, name: n });
    }
  } finally {
    ctx.log(ops);
  }
  return { nIndexesWas: before };
};
