/**
 * All databases of one devdb server and the only place their state changes:
 * committed writes (journalled), transactions with snapshot-style write
 * conflicts, replay from the journal and the dump for compaction.
 */
import type { Document } from 'bson';
import { MongoServerError } from '../errors';
import type { JournalOp } from '../journal-types';
import { keyOf } from '../values';
import { Collection } from './collection';
import { Index } from './indexes';

/** Transactions older than this are aborted when they get in another writer's way (mongod: transactionLifetimeLimitSeconds). */
const TXN_LIFETIME_MS = 60_000;
/** How long a plain write waits for a transaction holding its document. */
const LOCK_WAIT_MS = 5_000;

interface TxnWrite {
  coll: Collection;
  id: string;
  after: Document | null;
}

export class Transaction {
  readonly writes = new Map<string, TxnWrite>();
  state: 'active' | 'committed' | 'aborted' = 'active';
  readonly startedAt = Date.now();
  private readonly done: Promise<void>;
  private finish!: () => void;

  constructor(
    readonly sessionKey: string,
    readonly txnNumber: bigint,
    readonly startSeq: number,
  ) {
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  /** Resolves when the transaction commits or aborts. */
  finished(): Promise<void> {
    return this.done;
  }

  settle(state: 'committed' | 'aborted'): void {
    this.state = state;
    this.finish();
  }

  /** Documents this transaction wrote in `coll` (null = deleted). */
  writesIn(coll: Collection): TxnWrite[] {
    return [...this.writes.values()].filter((w) => w.coll === coll);
  }
}

function lockKey(coll: Collection, id: string): string {
  return `${coll.ns}\u0000${id}`;
}

export class Store {
  private readonly dbs = new Map<string, Map<string, Collection>>();
  private readonly locks = new Map<string, Transaction>();
  private readonly active = new Set<Transaction>();
  /** Commit sequence: bumped by every committed document write. */
  seq = 0;

  // ---------------------------------------------------------------- catalog

  databaseNames(): string[] {
    return [...this.dbs.keys()].filter((d) => (this.dbs.get(d)?.size ?? 0) > 0);
  }

  collections(db: string): Collection[] {
    return [...(this.dbs.get(db)?.values() ?? [])];
  }

  collection(db: string, name: string): Collection | undefined {
    return this.dbs.get(db)?.get(name);
  }

  /** The collection, created implicitly (as inserts and index builds do in mongod). */
  ensureCollection(db: string, name: string, ops: JournalOp[], options: Document = {}): Collection {
    const existing = this.collection(db, name);
    if (existing) return existing;
    validateName(db, name);
    let colls = this.dbs.get(db);
    if (!colls) this.dbs.set(db, (colls = new Map()));
    const coll = new Collection(db, name, options);
    colls.set(name, coll);
    ops.push({ op: 'createColl', db, coll: name, options });
    return coll;
  }

  createCollection(db: string, name: string, options: Document, ops: JournalOp[]): void {
    if (this.collection(db, name)) throw new MongoServerError('NamespaceExists', `Collection ${db}.${name} already exists.`);
    this.ensureCollection(db, name, ops, options);
  }

  dropCollection(db: string, name: string, ops: JournalOp[]): boolean {
    const colls = this.dbs.get(db);
    if (!colls?.has(name)) return false;
    this.abortTransactionsTouching((c) => c.db === db && c.name === name);
    colls.delete(name);
    ops.push({ op: 'dropColl', db, coll: name });
    return true;
  }

  dropDatabase(db: string, ops: JournalOp[]): void {
    this.abortTransactionsTouching((c) => c.db === db);
    this.dbs.delete(db);
    ops.push({ op: 'dropDb', db });
  }

  /** Starts a transaction that reads the state as of now. */
  begin(sessionKey: string, txnNumber: bigint): Transaction {
    const txn = new Transaction(sessionKey, txnNumber, this.seq);
    this.active.add(txn);
    return txn;
  }

  // ------------------------------------------------------------------ reads

  /** Documents of `coll` matching `pred`, in natural order, as `txn` sees them. */
  find(coll: Collection | undefined, filter: Document | undefined, pred: (d: Document) => boolean, txn?: Transaction): Document[] {
    if (!coll) return [];
    const planned = coll.plan(filter);
    const out: Document[] = [];
    if (!txn) {
      const source = planned ? [...planned].map((id) => coll.docs.get(id)) : coll.docs.values();
      for (const doc of source) if (doc && pred(doc)) out.push(doc);
      return out;
    }
    // Snapshot read: committed state as of the transaction's start, then its own writes.
    const own = txn.writesIn(coll);
    const ownIds = new Set(own.map((w) => w.id));
    const ids = new Set<string>(planned ?? coll.docs.keys());
    for (const id of coll.history.keys()) ids.add(id);
    for (const id of ids) {
      if (ownIds.has(id)) continue;
      const doc = this.snapshotDoc(coll, id, txn);
      if (doc && pred(doc)) out.push(doc);
    }
    for (const w of own) if (w.after && pred(w.after)) out.push(w.after);
    return out;
  }

  get(coll: Collection, id: string, txn?: Transaction): Document | undefined {
    if (!txn) return coll.docs.get(id);
    const own = txn.writes.get(lockKey(coll, id));
    if (own) return own.after ?? undefined;
    return this.snapshotDoc(coll, id, txn);
  }

  /** The committed document as it was when `txn` started. */
  private snapshotDoc(coll: Collection, id: string, txn: Transaction): Document | undefined {
    if ((coll.versions.get(id) ?? 0) <= txn.startSeq) return coll.docs.get(id);
    const image = coll.history.get(id)?.find((h) => h.supersededAt > txn.startSeq);
    return image ? image.doc : coll.docs.get(id);
  }

  /** Keeps the before-image of a committed write while transactions may still need it. */
  private remember(coll: Collection, id: string, supersededAt: number): void {
    if (!this.active.size) return;
    let images = coll.history.get(id);
    if (!images) coll.history.set(id, (images = []));
    images.push({ supersededAt, doc: coll.docs.get(id) });
  }

  private pruneHistory(): void {
    let oldest = Infinity;
    for (const t of this.active) oldest = Math.min(oldest, t.startSeq);
    for (const colls of this.dbs.values()) {
      for (const coll of colls.values()) {
        if (!coll.history.size) continue;
        if (oldest === Infinity) {
          coll.history.clear();
          continue;
        }
        for (const [id, images] of coll.history) {
          const kept = images.filter((h) => h.supersededAt > oldest);
          if (kept.length) coll.history.set(id, kept);
          else coll.history.delete(id);
        }
      }
    }
  }

  // ----------------------------------------------------------------- writes

  /** Ids among these that a transaction (other than `txn`) holds. */
  lockedBy(coll: Collection, ids: string[], txn?: Transaction): Transaction[] {
    const out: Transaction[] = [];
    for (const id of ids) {
      const holder = this.locks.get(lockKey(coll, id));
      if (holder && holder !== txn) out.push(holder);
    }
    return out;
  }

  /**
   * Waits until no other transaction holds any of `ids` (a plain write waits,
   * as in mongod). Gives up with WriteConflict after a while; aborts
   * transactions past their lifetime.
   */
  async waitForLocks(holders: Transaction[]): Promise<void> {
    for (const t of holders) {
      if (Date.now() - t.startedAt > TXN_LIFETIME_MS) this.abort(t);
    }
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), LOCK_WAIT_MS).unref());
    const result = await Promise.race([Promise.all(holders.map((t) => t.finished())), timeout]);
    if (result === 'timeout') throw new MongoServerError('WriteConflict', 'Write conflict: a transaction holds the document', {}, ['TransientTransactionError']);
  }

  /**
   * Writes one document (after = null deletes) outside a transaction: checks
   * unique indexes, applies, records the journal op. Throws DuplicateKey.
   */
  writeCommitted(coll: Collection, id: string, after: Document | null, ops: JournalOp[]): void {
    if (after) {
      coll.checkUnique(after, id);
      this.remember(coll, id, this.seq + 1);
      coll.put(after, ++this.seq);
      ops.push({ op: 'put', db: coll.db, coll: coll.name, doc: after });
    } else {
      if (coll.docs.has(id)) this.remember(coll, id, this.seq + 1);
      const old = coll.delete(id, ++this.seq);
      if (old) ops.push({ op: 'del', db: coll.db, coll: coll.name, id: old._id });
    }
  }

  /** Stages one document write in a transaction; conflicts surface now, as WriteConflict. */
  writeInTransaction(txn: Transaction, coll: Collection, id: string, after: Document | null): void {
    const key = lockKey(coll, id);
    const holder = this.locks.get(key);
    if (holder && holder !== txn) {
      if (Date.now() - holder.startedAt > TXN_LIFETIME_MS) this.abort(holder);
      else throw this.conflict();
    }
    if ((coll.versions.get(id) ?? 0) > txn.startSeq && !txn.writes.has(key)) throw this.conflict();
    if (after) {
      const own = txn.writesIn(coll);
      const ownIds = new Set(own.map((w) => w.id));
      coll.checkUnique(after, id, (other) => ownIds.has(other));
      for (const w of own) {
        if (w.id === id || !w.after) continue;
        for (const index of coll.indexes.values()) {
          if (!index.unique) continue;
          const theirs = new Set(index.keysOf(w.after).map((k) => k.key));
          const clash = index.keysOf(after).find((k) => theirs.has(k.key));
          if (clash) throw index.duplicate(coll.ns, clash.values);
        }
      }
    }
    this.locks.set(key, txn);
    txn.writes.set(key, { coll, id, after });
  }

  private conflict(): MongoServerError {
    return new MongoServerError(
      'WriteConflict',
      'WriteConflict error: this operation conflicted with another operation. Please retry your operation or multi-document transaction.',
      {},
      ['TransientTransactionError'],
    );
  }

  /** Applies a transaction atomically; on a unique-index clash nothing is applied and the transaction aborts. */
  commit(txn: Transaction, ops: JournalOp[]): void {
    const applied: Array<{ coll: Collection; id: string; before: Document | undefined }> = [];
    try {
      for (const w of txn.writes.values()) {
        const before = w.coll.docs.get(w.id);
        if (w.after) w.coll.checkUnique(w.after, w.id);
        applied.push({ coll: w.coll, id: w.id, before });
        if (w.after || before) this.remember(w.coll, w.id, this.seq + 1);
        if (w.after) {
          w.coll.put(w.after, ++this.seq);
          ops.push({ op: 'put', db: w.coll.db, coll: w.coll.name, doc: w.after });
        } else if (before) {
          w.coll.delete(w.id, ++this.seq);
          ops.push({ op: 'del', db: w.coll.db, coll: w.coll.name, id: before._id });
        }
      }
    } catch (err) {
      for (const a of applied.reverse()) {
        if (a.before) a.coll.put(a.before, this.seq);
        else a.coll.delete(a.id, this.seq);
      }
      ops.length = 0;
      this.release(txn, 'aborted');
      throw err;
    }
    this.release(txn, 'committed');
  }

  abort(txn: Transaction): void {
    if (txn.state === 'active') this.release(txn, 'aborted');
  }

  private release(txn: Transaction, state: 'committed' | 'aborted'): void {
    for (const key of txn.writes.keys()) if (this.locks.get(key) === txn) this.locks.delete(key);
    this.active.delete(txn);
    this.pruneHistory();
    txn.settle(state);
  }

  private abortTransactionsTouching(match: (c: Collection) => boolean): void {
    for (const txn of new Set(this.locks.values())) {
      if ([...txn.writes.values()].some((w) => match(w.coll))) this.abort(txn);
    }
  }

  // ------------------------------------------------------- journal replay/dump

  /** Rebuilds state from a journal op (replay at start-up). */
  applyOp(op: JournalOp): void {
    const sink: JournalOp[] = [];
    switch (op.op) {
      case 'createColl':
        this.ensureCollection(op.db, op.coll, sink, op.options ?? {});
        break;
      case 'dropColl':
        this.dbs.get(op.db)?.delete(op.coll);
        break;
      case 'dropDb':
        this.dbs.delete(op.db);
        break;
      case 'createIndex':
        this.ensureCollection(op.db, op.coll, sink).createIndex(Index.validate(op.spec));
        break;
      case 'dropIndex': {
        // Replay is idempotent: a batch may be both in a snapshot and after it.
        const coll = this.collection(op.db, op.coll);
        if (coll?.indexes.has(op.name)) coll.dropIndex(op.name);
        break;
      }
      case 'put': {
        const coll = this.ensureCollection(op.db, op.coll, sink);
        coll.put(op.doc, ++this.seq);
        break;
      }
      case 'del':
        this.collection(op.db, op.coll)?.delete(keyOf(op.id), ++this.seq);
        break;
    }
  }

  /** Every op needed to rebuild the current committed state. */
  *dump(): Iterable<JournalOp> {
    for (const [db, colls] of this.dbs) {
      for (const coll of colls.values()) {
        yield { op: 'createColl', db, coll: coll.name, options: coll.options };
        for (const index of coll.indexes.values()) yield { op: 'createIndex', db, coll: coll.name, spec: index.spec };
        for (const doc of coll.docs.values()) yield { op: 'put', db, coll: coll.name, doc };
      }
    }
  }
}

function validateName(db: string, coll: string): void {
  if (!db || /[/\\. "$\0]/.test(db)) throw new MongoServerError('InvalidOptions', `Invalid database name: '${db}'`);
  if (!coll || coll.includes('$') || coll.includes('\0') || coll.startsWith('system.')) {
    throw new MongoServerError('InvalidOptions', `Invalid collection name: ${coll}`);
  }
}
