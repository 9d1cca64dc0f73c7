/**
 * Where wrapped data keys live: the small `KeyVaultStore` interface, a
 * mongoose implementation over the `key_vault` collection and an in-memory
 * one for unit tests. Stores hold only wrapped keys; nothing here decrypts.
 */
import mongoose, { Schema, trusted, type Connection, type Model } from 'mongoose';
import { isDuplicateKey } from '../errors';

export type DataKeyScope = 'tenant' | 'subject';
export type DataKeyStatus = 'active' | 'retired' | 'destroyed';

/** One version of one data key, as stored. */
export interface DataKeyRecord {
  /** 16 random bytes, hex: the key reference written into every envelope. */
  _id: string;
  /** `tenant`: the tenant's key for its business data; `subject`: one data subject's key for their personal data. */
  scope: DataKeyScope;
  tenantId: string;
  /** Set for `subject` keys, null for `tenant` keys. */
  subjectId: string | null;
  /** 1, 2, …: the highest active version of a series encrypts new values. */
  version: number;
  /** The master key that wrapped `wrappedKey` (`local:development/master-1`, `pkcs11:production/…`). */
  masterKeyId: string;
  /** See providers/types.ts for the layout; null once destroyed. */
  wrappedKey: Buffer | null;
  /** `active`: decrypts (the highest active version also encrypts); `retired`: decrypts only, nothing uses it; `destroyed`: gone. */
  status: DataKeyStatus;
  createdAt: Date;
  retiredAt?: Date | null;
  destroyedAt?: Date | null;
}

/** A series: every version of the key of one tenant, or of one subject in a tenant. */
export interface DataKeySeries {
  scope: DataKeyScope;
  tenantId: string;
  subjectId: string | null;
}

export interface DataKeyFilter {
  tenantId?: string;
  scope?: DataKeyScope;
  /** null selects tenant keys; a string, that subject's keys. */
  subjectId?: string | null;
  status?: DataKeyStatus[];
  masterKeyId?: string;
}

/** Thrown by `insert` when the series already has that version (or the id exists): someone else created it first. */
export class DuplicateDataKeyError extends Error {
  constructor() {
    super('data key version exists');
  }
}

export interface KeyVaultStore {
  /** Creates the indexes (a unique one on scope, tenantId, subjectId, version). Idempotent. */
  init(): Promise<void>;
  /** Inserts a new record; throws `DuplicateDataKeyError` when its series already has its version. */
  insert(record: DataKeyRecord): Promise<void>;
  findById(id: string): Promise<DataKeyRecord | null>;
  /** The records of these ids that exist, in no particular order (one round trip: batch decryption prefetches with it). */
  findByIds(ids: readonly string[]): Promise<DataKeyRecord[]>;
  /** The highest version of the series among `statuses` (any status when omitted), or null. */
  findLatest(series: DataKeySeries, statuses?: DataKeyStatus[]): Promise<DataKeyRecord | null>;
  /** Every record matching the filter, in `_id` order. */
  find(filter: DataKeyFilter): AsyncIterable<DataKeyRecord>;
  /**
   * Compare-and-set: applies `patch` only if the record still has the
   * `expect`ed values. True when it did. Rotation and shredding rely on it
   * so that a concurrent shred is never undone by a rewrap.
   */
  update(id: string, expect: Partial<Pick<DataKeyRecord, 'status' | 'masterKeyId' | 'version'>>, patch: Partial<Omit<DataKeyRecord, '_id'>>): Promise<boolean>;
}

function matches(record: DataKeyRecord, filter: DataKeyFilter): boolean {
  if (filter.tenantId !== undefined && record.tenantId !== filter.tenantId) return false;
  if (filter.scope !== undefined && record.scope !== filter.scope) return false;
  if (filter.subjectId !== undefined && record.subjectId !== filter.subjectId) return false;
  if (filter.status !== undefined && !filter.status.includes(record.status)) return false;
  if (filter.masterKeyId !== undefined && record.masterKeyId !== filter.masterKeyId) return false;
  return true;
}

function copy(record: DataKeyRecord): DataKeyRecord {
  return { ...record, wrappedKey: record.wrappedKey ? Buffer.from(record.wrappedKey) : null };
}

/** For unit tests: same semantics as the mongoose store, in a Map. */
export class MemoryKeyVaultStore implements KeyVaultStore {
  readonly records = new Map<string, DataKeyRecord>();

  async init(): Promise<void> {}

  async insert(record: DataKeyRecord): Promise<void> {
    const clash = [...this.records.values()].some(
      (r) => r._id === record._id || (r.scope === record.scope && r.tenantId === record.tenantId && r.subjectId === record.subjectId && r.version === record.version),
    );
    if (clash) throw new DuplicateDataKeyError();
    this.records.set(record._id, copy(record));
  }

  async findById(id: string): Promise<DataKeyRecord | null> {
    const r = this.records.get(id);
    return r ? copy(r) : null;
  }
  async findByIds(ids: readonly string[]): Promise<DataKeyRecord[]> {
    return ids.flatMap((id) => {
      const r = this.records.get(id);
      return r ? [copy(r)] : [];
    });
  }


  async findLatest(series: DataKeySeries, statuses?: DataKeyStatus[]): Promise<DataKeyRecord | null> {
    let best: DataKeyRecord | null = null;
    for (const r of this.records.values()) {
      if (!matches(r, { ...series, status: statuses })) continue;
      if (!best || r.version > best.version) best = r;
    }
    return best ? copy(best) : null;
  }

  async *find(filter: DataKeyFilter): AsyncIterable<DataKeyRecord> {
    const ids = [...this.records.keys()].sort();
    for (const id of ids) {
      const r = this.records.get(id);
      if (r && matches(r, filter)) yield copy(r);
    }
  }

  async update(id: string, expect: Partial<DataKeyRecord>, patch: Partial<DataKeyRecord>): Promise<boolean> {
    const r = this.records.get(id);
    if (!r) return false;
    for (const [k, v] of Object.entries(expect)) if ((r as unknown as Record<string, unknown>)[k] !== v) return false;
    this.records.set(id, copy({ ...r, ...patch, _id: id } as DataKeyRecord));
    return true;
  }
}

const schema = new Schema(
  {
    _id: { type: String, required: true },
    scope: { type: String, enum: ['tenant', 'subject'], required: true },
    tenantId: { type: String, required: true },
    subjectId: { type: String, default: null },
    version: { type: Number, required: true, min: 1 },
    masterKeyId: { type: String, required: true },
    wrappedKey: { type: Buffer, default: null },
    status: { type: String, enum: ['active', 'retired', 'destroyed'], required: true },
    createdAt: { type: Date, required: true },
    retiredAt: { type: Date, default: null },
    destroyedAt: { type: Date, default: null },
  },
  { collection: 'key_vault', versionKey: false, strict: 'throw', autoIndex: false },
);
// One record per version of a series: concurrent lazy creation converges on the first insert.
schema.index({ scope: 1, tenantId: 1, subjectId: 1, version: 1 }, { unique: true, name: 'series_version_unique' });
// Shredding a tenant; rewrapping everything under one master key.
schema.index({ tenantId: 1 }, { name: 'tenant' });
schema.index({ masterKeyId: 1 }, { name: 'master_key' });

type StoredDoc = Omit<DataKeyRecord, 'wrappedKey'> & { wrappedKey: unknown };

function fromDoc(doc: StoredDoc): DataKeyRecord {
  const w = doc.wrappedKey;
  let wrappedKey: Buffer | null = null;
  // lean() hands back the driver's Binary; a hydrated document a Buffer.
  if (Buffer.isBuffer(w)) wrappedKey = Buffer.from(w);
  else if (w instanceof mongoose.mongo.Binary) wrappedKey = Buffer.from(w.buffer);
  return {
    _id: doc._id,
    scope: doc.scope,
    tenantId: doc.tenantId,
    subjectId: doc.subjectId ?? null,
    version: doc.version,
    masterKeyId: doc.masterKeyId,
    wrappedKey,
    status: doc.status,
    createdAt: doc.createdAt,
    retiredAt: doc.retiredAt ?? null,
    destroyedAt: doc.destroyedAt ?? null,
  };
}

function toQuery(filter: DataKeyFilter): Record<string, unknown> {
  const q: Record<string, unknown> = {};
  if (filter.tenantId !== undefined) q.tenantId = filter.tenantId;
  if (filter.scope !== undefined) q.scope = filter.scope;
  if (filter.subjectId !== undefined) q.subjectId = filter.subjectId;
  // Our own operator, not user input: exempt from the platform's sanitizeFilter.
  if (filter.status !== undefined) q.status = mongoose.trusted({ $in: filter.status });
  if (filter.masterKeyId !== undefined) q.masterKeyId = filter.masterKeyId;
  return q;
}

/** The `key_vault` collection on a mongoose connection. */
export class MongooseKeyVaultStore implements KeyVaultStore {
  readonly model: Model<StoredDoc>;

  constructor(conn: Connection, modelName = 'KeyVaultDataKey') {
    this.model = (conn.models[modelName] as Model<StoredDoc> | undefined) ?? conn.model<StoredDoc>(modelName, schema);
  }

  async init(): Promise<void> {
    await this.model.createCollection().catch((err: { code?: number }) => {
      if (err.code !== 48) throw err; // NamespaceExists
    });
    await this.model.createIndexes();
  }

  async insert(record: DataKeyRecord): Promise<void> {
    try {
      await this.model.create(record);
    } catch (err) {
      if (isDuplicateKey(err)) throw new DuplicateDataKeyError();
      throw err;
    }
  }

  async findById(id: string): Promise<DataKeyRecord | null> {
    const doc = await this.model.findOne({ _id: id }).lean<StoredDoc>();
    return doc ? fromDoc(doc) : null;
  }

  async findByIds(ids: readonly string[]): Promise<DataKeyRecord[]> {
    if (ids.length === 0) return [];
    const docs = await this.model.find({ _id: trusted({ $in: [...ids] }) }).lean<StoredDoc[]>();
    return docs.map(fromDoc);
  }

  async findLatest(series: DataKeySeries, statuses?: DataKeyStatus[]): Promise<DataKeyRecord | null> {
    const doc = await this.model
      .findOne(toQuery({ ...series, status: statuses }))
      .sort({ version: -1 })
      .lean<StoredDoc>();
    return doc ? fromDoc(doc) : null;
  }

  async *find(filter: DataKeyFilter): AsyncIterable<DataKeyRecord> {
    for await (const doc of this.model.find(toQuery(filter)).sort({ _id: 1 }).lean<StoredDoc[]>().cursor()) {
      yield fromDoc(doc as unknown as StoredDoc);
    }
  }

  async update(id: string, expect: Partial<DataKeyRecord>, patch: Partial<DataKeyRecord>): Promise<boolean> {
    const res = await this.model.updateOne({ ...expect, _id: id }, { $set: patch });
    return res.matchedCount === 1;
  }
}
