/**
 * One collection's committed state: documents by `_id` key in natural
 * (insertion) order, the commit sequence of each document's last write (for
 * write-conflict detection), and its indexes.
 */
import type { Document } from 'bson';
import { MongoServerError } from '../errors';
import { isNumeric, toNumber } from '../numeric';
import { keyOf } from '../values';
import { Index, type IndexSpec } from './indexes';

export const ID_INDEX: IndexSpec = { v: 2, key: { _id: 1 }, name: '_id_' };

export class Collection {
  readonly docs = new Map<string, Document>();
  /** Commit sequence of the last committed write per document (deleted ones included). */
  readonly versions = new Map<string, number>();
  readonly indexes = new Map<string, Index>();
  /**
   * Before-images kept while transactions are open, so each reads the
   * collection as it was when it started: id → images in commit order, each
   * the document as it was until `supersededAt` (undefined = absent).
   */
  readonly history = new Map<string, Array<{ supersededAt: number; doc: Document | undefined }>>();

  constructor(
    readonly db: string,
    readonly name: string,
    readonly options: Document = {},
  ) {}

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  get(id: string): Document | undefined {
    return this.docs.get(id);
  }

  /** Checks every unique constraint for `doc` replacing whatever `id` held; `isFree(other)` marks ids being changed in the same batch. */
  checkUnique(doc: Document, id: string, isFree?: (other: string) => boolean): void {
    for (const index of this.indexes.values()) index.checkUnique(doc, id, this.ns, isFree);
  }

  /** Writes a document (insert or replace); unique constraints must have been checked. */
  put(doc: Document, seq: number): void {
    const id = keyOf(doc._id);
    const old = this.docs.get(id);
    if (old) for (const index of this.indexes.values()) index.remove(old, id);
    // Replacing keeps the natural order position, as in mongod.
    this.docs.set(id, doc);
    for (const index of this.indexes.values()) index.add(doc, id);
    this.versions.set(id, seq);
  }

  delete(id: string, seq: number): Document | undefined {
    const old = this.docs.get(id);
    if (!old) return undefined;
    for (const index of this.indexes.values()) index.remove(old, id);
    this.docs.delete(id);
    this.versions.set(id, seq);
    return old;
  }

  duplicateId(doc: Document): MongoServerError {
    return new MongoServerError('DuplicateKey', `E11000 duplicate key error collection: ${this.ns} index: _id_ dup key: { _id: ${JSON.stringify(doc._id)} }`, {
      keyPattern: { _id: 1 },
      keyValue: { _id: doc._id },
    });
  }

  /** Adds an index, building it over existing documents; refuses when existing documents break uniqueness. */
  createIndex(spec: IndexSpec): 'created' | 'exists' {
    if (spec.name === '_id_' || (Object.keys(spec.key).length === 1 && '_id' in spec.key && !spec.unique)) return 'exists';
    const existing = this.indexes.get(spec.name);
    if (existing) {
      if (existing.sameAs(spec)) return 'exists';
      throw new MongoServerError('IndexKeySpecsConflict', `An existing index has the same name as the requested index but different options: ${spec.name}`);
    }
    for (const other of this.indexes.values()) {
      if (JSON.stringify(other.spec.key) === JSON.stringify(spec.key) && other.sameAs(spec)) {
        throw new MongoServerError('IndexOptionsConflict', `Index already exists with a different name: ${other.spec.name}`);
      }
    }
    const index = new Index(spec);
    for (const [id, doc] of this.docs) {
      index.checkUnique(doc, id, this.ns);
      index.add(doc, id);
    }
    this.indexes.set(spec.name, index);
    return 'created';
  }

  dropIndex(name: string): void {
    if (!this.indexes.delete(name)) throw new MongoServerError('IndexNotFound', `index not found with name [${name}]`);
  }

  listIndexSpecs(): IndexSpec[] {
    return [ID_INDEX, ...[...this.indexes.values()].map((i) => i.spec)];
  }

  ttlIndexes(): Array<{ field: string; seconds: number }> {
    return [...this.indexes.values()]
      .filter((i) => i.spec.expireAfterSeconds !== undefined)
      .map((i) => ({ field: i.fields[0], seconds: i.spec.expireAfterSeconds as number }));
  }

  /**
   * Ids that can match `filter`, from `_id` or an index on an equality
   * condition; undefined when only a scan can answer.
   */
  plan(filter: Document | undefined): Set<string> | undefined {
    if (!filter || typeof filter !== 'object') return undefined;
    let best: Set<string> | undefined;
    for (const [field, cond] of Object.entries(filter)) {
      if (field.startsWith('$')) {
        if (field === '$and' && Array.isArray(cond)) {
          for (const sub of cond) {
            const ids = this.plan(sub as Document);
            if (ids && (!best || ids.size < best.size)) best = ids;
          }
        }
        continue;
      }
      const values = equalityValues(cond);
      if (!values) continue;
      const ids = this.lookup(field, values);
      if (ids && (!best || ids.size < best.size)) best = ids;
      if (best && best.size <= 1) return best;
    }
    return best;
  }

  private lookup(field: string, values: unknown[]): Set<string> | undefined {
    if (field === '_id') {
      const out = new Set<string>();
      for (const v of values) {
        const k = keyOf(v);
        if (this.docs.has(k)) out.add(k);
      }
      return out;
    }
    for (const index of this.indexes.values()) {
      if (index.fields[0] !== field) continue;
      const out = new Set<string>();
      for (const v of values) {
        const ids = index.lookupFirst(v);
        if (!ids) return undefined;
        for (const id of ids) out.add(id);
      }
      return out;
    }
    return undefined;
  }
}

/** Values an equality condition can take, or undefined when it is not a plain equality an index can serve. */
function equalityValues(cond: unknown): unknown[] | undefined {
  const usable = (v: unknown) =>
    v !== null && v !== undefined && !Array.isArray(v) && !(v instanceof RegExp) && (typeof v !== 'object' || isBsonValue(v) || v instanceof Date);
  if (usable(cond)) return [cond];
  if (cond && typeof cond === 'object' && !Array.isArray(cond) && !isBsonValue(cond)) {
    const keys = Object.keys(cond);
    if (keys.length === 1 && keys[0] === '$eq' && usable((cond as Document).$eq)) return [(cond as Document).$eq];
    if (keys.length === 1 && keys[0] === '$in' && Array.isArray((cond as Document).$in)) {
      const list = (cond as Document).$in as unknown[];
      if (list.every(usable)) return list;
    }
  }
  return undefined;
}

function isBsonValue(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as { _bsontype?: unknown })._bsontype === 'string';
}

export function ttlCutoff(value: unknown, seconds: number, now: number): boolean {
  const dates = Array.isArray(value) ? value : [value];
  return dates.some((d) => d instanceof Date && d.getTime() + seconds * 1000 <= now);
}

