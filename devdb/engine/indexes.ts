/**
 * Secondary indexes of one collection: key extraction (multikey, sparse,
 * partial), unique enforcement with mongod's duplicate-key error, and
 * equality lookups so `_id` and indexed fields are found without a scan.
 */
import type { Document } from 'bson';
import { MongoServerError, badValue } from '../errors';
import { isNumeric, toNumber } from '../numeric';
import { keyOf, pathValues } from '../values';
import { compileFilter } from './query';

export interface IndexSpec {
  name: string;
  key: Document;
  unique?: boolean;
  sparse?: boolean;
  partialFilterExpression?: Document;
  expireAfterSeconds?: number;
  [extra: string]: unknown;
}

const SPEC_FIELDS = new Set(['name', 'key', 'unique', 'sparse', 'partialFilterExpression', 'expireAfterSeconds', 'background', 'v', 'collation']);

export class Index {
  readonly spec: IndexSpec;
  readonly fields: string[];
  readonly unique: boolean;
  private readonly partial?: (doc: Document) => boolean;
  /** Compound key → ids of the documents holding it. */
  private readonly entries = new Map<string, Set<string>>();
  /** First-field key → ids, for equality lookups on compound indexes. */
  private readonly prefix?: Map<string, Set<string>>;

  constructor(spec: IndexSpec) {
    this.spec = spec;
    this.fields = Object.keys(spec.key);
    this.unique = spec.unique === true;
    if (spec.partialFilterExpression) this.partial = compileFilter(spec.partialFilterExpression);
    if (this.fields.length > 1) this.prefix = new Map();
  }

  static validate(raw: Document): IndexSpec {
    if (!raw || typeof raw.key !== 'object' || raw.key === null || Array.isArray(raw.key)) throw badValue('index spec needs a key document');
    const fields = Object.keys(raw.key);
    if (!fields.length) throw badValue('index key must not be empty');
    for (const f of fields) {
      const dir = raw.key[f];
      if (typeof dir === 'string') throw new MongoServerError('BadValue', `devdb does not support ${dir} indexes (field ${f})`);
      if (!isNumeric(dir) || toNumber(dir) === 0) throw badValue(`bad index direction for ${f}`);
    }
    if (typeof raw.name !== 'string' || !raw.name) throw badValue('index spec needs a name');
    for (const k of Object.keys(raw)) {
      if (!SPEC_FIELDS.has(k)) throw new MongoServerError('InvalidOptions', `devdb does not support the index option ${k}`);
    }
    if (raw.expireAfterSeconds !== undefined) {
      if (!isNumeric(raw.expireAfterSeconds) || toNumber(raw.expireAfterSeconds) < 0) throw badValue('expireAfterSeconds must be a non-negative number');
      if (fields.length !== 1) throw badValue('TTL indexes are single-field indexes');
    }
    const spec: IndexSpec = { v: 2, key: raw.key, name: raw.name };
    if (raw.unique) spec.unique = true;
    if (raw.sparse) spec.sparse = true;
    if (raw.partialFilterExpression) spec.partialFilterExpression = raw.partialFilterExpression;
    if (raw.expireAfterSeconds !== undefined) spec.expireAfterSeconds = toNumber(raw.expireAfterSeconds);
    return spec;
  }

  /** Same definition (ignoring name) — createIndexes is then a no-op. */
  sameAs(other: IndexSpec): boolean {
    const norm = (s: IndexSpec) => JSON.stringify([s.key, !!s.unique, !!s.sparse, s.partialFilterExpression ?? null, s.expireAfterSeconds ?? null]);
    return norm(this.spec) === norm(other);
  }

  /** Index keys of a document (several for multikey), or none when sparse/partial excludes it. */
  keysOf(doc: Document): Array<{ key: string; first: string; values: unknown[] }> {
    if (this.partial && !this.partial(doc)) return [];
    const perField = this.fields.map((f) => {
      const vals: unknown[] = [];
      for (const v of pathValues(doc, f)) {
        if (Array.isArray(v)) vals.push(...(v.length ? v : [undefined]));
        else vals.push(v);
      }
      return vals;
    });
    if (this.spec.sparse && perField.every((vals) => vals.every((v) => v === undefined))) return [];
    let combos: unknown[][] = [[]];
    for (const vals of perField) {
      const uniq = new Map(vals.map((v) => [keyOf(v ?? null), v ?? null] as const));
      combos = combos.flatMap((c) => [...uniq.values()].map((v) => [...c, v]));
    }
    return combos.map((values) => ({ key: values.map(keyOf).join('\u0000'), first: keyOf(values[0]), values }));
  }

  /** Throws DuplicateKey if adding `doc` (id `id`) would break uniqueness; `ignore` lists ids being replaced. */
  checkUnique(doc: Document, id: string, ns: string, isFree: (otherId: string) => boolean = () => false): void {
    if (!this.unique) return;
    for (const k of this.keysOf(doc)) {
      const holders = this.entries.get(k.key);
      if (!holders) continue;
      for (const other of holders) {
        if (other !== id && !isFree(other)) throw this.duplicate(ns, k.values);
      }
    }
  }

  duplicate(ns: string, values: unknown[]): MongoServerError {
    const keyValue: Document = {};
    this.fields.forEach((f, i) => (keyValue[f] = values[i]));
    const shown = this.fields.map((f, i) => `${f}: ${JSON.stringify(values[i] ?? null)}`).join(', ');
    return new MongoServerError('DuplicateKey', `E11000 duplicate key error collection: ${ns} index: ${this.spec.name} dup key: { ${shown} }`, {
      keyPattern: this.spec.key,
      keyValue,
    });
  }

  add(doc: Document, id: string): void {
    for (const k of this.keysOf(doc)) {
      addTo(this.entries, k.key, id);
      if (this.prefix) addTo(this.prefix, k.first, id);
    }
  }

  remove(doc: Document, id: string): void {
    for (const k of this.keysOf(doc)) {
      removeFrom(this.entries, k.key, id);
      if (this.prefix) removeFrom(this.prefix, k.first, id);
    }
  }

  /** Ids of documents whose first indexed field equals `value`; undefined when this index cannot answer. */
  lookupFirst(value: unknown): Set<string> | undefined {
    if (this.partial || this.spec.sparse) return undefined;
    const map = this.prefix ?? this.entries;
    return map.get(keyOf(value)) ?? new Set();
  }
}

function addTo(map: Map<string, Set<string>>, key: string, id: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(id);
}

function removeFrom(map: Map<string, Set<string>>, key: string, id: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(id);
  if (!set.size) map.delete(key);
}
