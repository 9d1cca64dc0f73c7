/**
 * Update documents applied to one document: operator updates (through
 * mingo's updater, with Decimal128-aware $inc/$mul and $setOnInsert),
 * pipeline updates, and replacements — plus building the document an
 * upsert inserts from its filter.
 */
import { ObjectId, type Document } from 'bson';
import { update as mingoUpdate } from 'mingo/updater';
import { MongoServerError, badValue } from '../errors';
import { addNumeric, isNumeric, mulNumeric, type Numeric } from '../numeric';
import { cloneValue, compareValues, getPath, valuesEqual } from '../values';
import { runPipeline, wrapMingo } from './query';

export type UpdateSpec = Document | Document[];

const OPERATORS = new Set(['$set', '$unset', '$inc', '$mul', '$min', '$max', '$rename', '$push', '$addToSet', '$pop', '$pull', '$pullAll', '$currentDate', '$bit', '$setOnInsert']);

export function isOperatorUpdate(u: UpdateSpec): boolean {
  if (Array.isArray(u)) return false;
  const keys = Object.keys(u);
  const ops = keys.filter((k) => k.startsWith('$'));
  if (ops.length && ops.length !== keys.length) throw new MongoServerError('FailedToParse', 'Unknown modifier: an update mixes operators and plain fields');
  return ops.length > 0;
}

export interface ApplyOptions {
  arrayFilters?: Document[];
  /** The statement's filter, for the positional `$` operator. */
  filter?: Document;
  /** True when the document is being inserted by an upsert ($setOnInsert applies). */
  inserting?: boolean;
}

/** Returns the updated copy of `doc`; `doc` itself is not touched. */
export function applyUpdate(doc: Document, u: UpdateSpec, opts: ApplyOptions = {}): Document {
  let out: Document;
  if (Array.isArray(u)) {
    out = runPipeline([cloneValue(doc)], u, () => [])[0] ?? {};
  } else if (isOperatorUpdate(u)) {
    out = applyOperators(cloneValue(doc), u, opts);
  } else {
    for (const k of Object.keys(u)) if (k.startsWith('$')) throw badValue(`replacement document must not contain operator ${k}`);
    out = { _id: doc._id, ...cloneValue(u) };
    if (u._id === undefined) out._id = doc._id;
  }
  if (doc._id !== undefined && !valuesEqual(out._id, doc._id)) {
    throw new MongoServerError('ImmutableField', "Performing an update on the path '_id' would modify the immutable field '_id'");
  }
  if (out._id === undefined && doc._id !== undefined) out._id = doc._id;
  return out;
}

function applyOperators(doc: Document, u: Document, opts: ApplyOptions): Document {
  const modifier: Document = {};
  for (const [op, fields] of Object.entries(u)) {
    if (!OPERATORS.has(op)) throw new MongoServerError('FailedToParse', `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`);
    if (!fields || typeof fields !== 'object' || Array.isArray(fields)) throw badValue(`Modifiers operate on fields but we found type ${typeof fields} instead`);
    if (op === '$setOnInsert') {
      if (opts.inserting) modifier.$set = { ...(modifier.$set ?? {}), ...fields };
      continue;
    }
    if (op === '$inc' || op === '$mul' || op === '$min' || op === '$max') {
      // Plain paths are computed here, with MongoDB's type widening and comparison; positional ones go to mingo.
      const rest: Document = {};
      for (const [path, by] of Object.entries(fields as Document)) {
        const arithmetic = op === '$inc' || op === '$mul';
        if (arithmetic && !isNumeric(by)) throw new MongoServerError('TypeMismatch', `Cannot ${op === '$inc' ? 'increment' : 'multiply'} with non-numeric argument: {${path}: ${JSON.stringify(by)}}`);
        if (path.includes('$')) {
          rest[path] = by;
          continue;
        }
        const current = getPath(doc, path);
        let next: unknown;
        if (arithmetic) {
          if (current !== undefined && current !== null && !isNumeric(current)) {
            throw new MongoServerError('TypeMismatch', `Cannot apply ${op} to a value of non-numeric type at ${path}`);
          }
          if (current === undefined || current === null) next = op === '$inc' ? by : mulNumeric(by as Numeric, 0);
          else next = op === '$inc' ? addNumeric(current as Numeric, by as Numeric) : mulNumeric(current as Numeric, by as Numeric);
        } else {
          const c = current === undefined ? undefined : compareValues(by, current);
          next = c === undefined || (op === '$min' ? c < 0 : c > 0) ? by : current;
          if (next === current) continue;
        }
        modifier.$set = { ...(modifier.$set ?? {}), [path]: next };
      }
      if (Object.keys(rest).length) modifier[op] = { ...(modifier[op] ?? {}), ...rest };
      continue;
    }
    modifier[op] = { ...(modifier[op] ?? {}), ...(fields as Document) };
  }
  if (!Object.keys(modifier).length) return doc;
  assertNoConflicts(u);
  for (const op of ['$set', '$unset', '$rename'] as const) {
    for (const path of Object.keys(modifier[op] ?? {})) {
      if (path === '_id' || path.startsWith('_id.')) {
        // An upsert may give the new document its _id ($setOnInsert / $set); an existing _id never changes.
        if (opts.inserting && doc._id === undefined && op === '$set') continue;
        if (op !== '$set' || !valuesEqual(modifier.$set[path], getPath(doc, path))) {
          throw new MongoServerError('ImmutableField', "Performing an update on the path '_id' would modify the immutable field '_id'");
        }
      }
    }
  }
  // Plain $set paths are assigned here: mingo skips a $set whose value it deems equal, and it compares
  // BSON Binary values by a lossy string form, which would silently drop real changes.
  const plainSets: Array<[string, unknown]> = [];
  if (modifier.$set) {
    for (const [path, value] of Object.entries(modifier.$set as Document)) {
      if (path.includes('$')) continue;
      plainSets.push([path, value]);
      delete modifier.$set[path];
    }
    if (!Object.keys(modifier.$set).length) delete modifier.$set;
  }
  // Mingo's operators first: it applies them only where the statement's filter (its `condition`, also what a
  // positional `$` resolves against) matches, and the document must still be as the filter found it — a filter on
  // a field this $set changes (a compare-and-set) would otherwise make mingo drop the other operators. The paths
  // are disjoint (assertNoConflicts), so the order changes nothing else.
  if (Object.keys(modifier).length) {
    try {
      mingoUpdate(doc, modifier, opts.arrayFilters, opts.filter, { cloneMode: 'deep' });
    } catch (err) {
      throw wrapMingo(err);
    }
  }
  for (const [path, value] of plainSets) assignPath(doc, path, cloneValue(value));
  return doc;
}

/** Two operators touching the same path, or a path and its prefix, is refused as in mongod. */
function assertNoConflicts(u: Document): void {
  const seen: Array<[string, string]> = [];
  for (const [op, fields] of Object.entries(u)) {
    const paths = Object.keys(fields as Document);
    if (op === '$rename') paths.push(...Object.values(fields as Document).map(String));
    for (const path of paths) {
      const clean = path.replace(/\.\$(\[[^\]]*\])?/g, '');
      for (const [otherOp, other] of seen) {
        if (clean === other || clean.startsWith(other + '.') || other.startsWith(clean + '.')) {
          throw new MongoServerError('ConflictingUpdateOperators', `Updating the path '${path}' would create a conflict at '${other}' (${otherOp} and ${op})`);
        }
      }
      seen.push([op, clean]);
    }
  }
}

/** The document an upsert starts from: the filter's equality fields (and its `_id`). */
export function upsertBase(filter: Document | undefined): Document {
  const base: Document = {};
  const collect = (f: Document | undefined) => {
    if (!f) return;
    for (const [k, v] of Object.entries(f)) {
      if (k === '$and' && Array.isArray(v)) {
        v.forEach((sub) => collect(sub as Document));
        continue;
      }
      if (k.startsWith('$')) continue;
      let value = v;
      if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !(v as { _bsontype?: string })._bsontype) {
        const keys = Object.keys(v);
        if (keys.length === 1 && keys[0] === '$eq') value = (v as Document).$eq;
        else if (keys.some((x) => x.startsWith('$'))) continue;
      }
      if (value instanceof RegExp) continue;
      setPath(base, k, cloneValue(value));
    }
  };
  collect(filter);
  return base;
}

/** $set of one dotted path with MongoDB's rules: creates missing objects, indexes into arrays, refuses to traverse a scalar. */
function assignPath(doc: Document, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur: any = doc;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const last = i === parts.length - 1;
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(part)) throw new MongoServerError('PathNotViable', `Cannot create field '${part}' in an array at '${parts.slice(0, i).join('.')}'`);
      const idx = Number(part);
      while (cur.length < idx) cur.push(null);
      if (last) cur[idx] = value;
      else {
        if (cur[idx] === undefined || cur[idx] === null) cur[idx] = {};
        cur = cur[idx];
      }
      continue;
    }
    if (cur === null || typeof cur !== 'object' || (cur as { _bsontype?: string })._bsontype || cur instanceof Date) {
      throw new MongoServerError('PathNotViable', `Cannot create field '${part}' in element at '${parts.slice(0, i).join('.')}'`);
    }
    if (last) cur[part] = value;
    else {
      if (cur[part] === undefined || cur[part] === null) cur[part] = {};
      cur = cur[part];
    }
  }
}

function setPath(doc: Document, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    if (!cur[parts[i]] || typeof cur[parts[i]] !== 'object') cur[parts[i]] = {};
    cur = cur[parts[i]];
  }
  cur[parts[parts.length - 1]] = value;
}

/** The document an upsert inserts. */
export function buildUpsert(filter: Document | undefined, u: UpdateSpec, opts: ApplyOptions): Document {
  const base = upsertBase(filter);
  let doc: Document;
  if (!Array.isArray(u) && !isOperatorUpdate(u)) {
    doc = { ...(base._id !== undefined ? { _id: base._id } : {}), ...cloneValue(u) };
  } else {
    doc = applyUpdate(base, u, { ...opts, inserting: true });
  }
  if (doc._id === undefined) {
    delete doc._id;
    doc = { _id: new ObjectId(), ...doc };
  }
  else if (Object.keys(doc)[0] !== '_id') {
    const { _id, ...rest } = doc;
    doc = { _id, ...rest };
  }
  return doc;
}
