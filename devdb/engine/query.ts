/**
 * Filters, sorts, projections and pipelines on top of mingo, with MongoDB's
 * own value comparison plugged in: mingo's comparison operators, $sort and
 * numeric accumulators are replaced by ones that use values.ts, so Int32,
 * Long, Double and Decimal128 compare and sum as they do in mongod.
 */
import { Aggregator } from 'mingo/aggregator';
import { Context } from 'mingo';
import { Query } from 'mingo/query';
import * as accumulatorOperators from 'mingo/operators/accumulator';
import * as expressionOperators from 'mingo/operators/expression';
import * as pipelineOperators from 'mingo/operators/pipeline';
import * as projectionOperators from 'mingo/operators/projection';
import * as queryOperators from 'mingo/operators/query';
import * as windowOperators from 'mingo/operators/window';
import { Lazy, type Iterator as MingoIterator } from 'mingo/lazy';
import { $push } from 'mingo/operators/accumulator';
import type { AnyObject, Options, CollectionResolver } from 'mingo/types';
import type { Document } from 'bson';
import { MongoServerError, badValue } from '../errors';
import { addNumeric, divideToDouble, isNumeric, mulNumeric, toNumber, type Numeric } from '../numeric';
import { compareValues, pathValues, typeBracket, valuesEqual } from '../values';

type Pred = (doc: AnyObject) => boolean;

function candidates(doc: AnyObject, selector: string): unknown[] {
  const out: unknown[] = [];
  for (const v of pathValues(doc, selector)) {
    out.push(v);
    if (Array.isArray(v)) out.push(...v);
  }
  return out;
}

function eqMatch(values: unknown[], target: unknown): boolean {
  if (target instanceof RegExp) return values.some((v) => typeof v === 'string' && target.test(v));
  if (target === null || target === undefined) return values.some((v) => v === null || v === undefined);
  return values.some((v) => valuesEqual(v, target));
}

function rangeOp(test: (c: number) => boolean, inclusive: boolean) {
  return (selector: string, value: unknown): Pred =>
    (doc) =>
      candidates(doc, selector).some((v) => {
        if (value === null || value === undefined) return inclusive && (v === null || v === undefined);
        return typeBracket(v) === typeBracket(value) && test(compareValues(v, value));
      });
}

function inList(value: unknown, op: string): unknown[] {
  if (!Array.isArray(value)) throw badValue(`${op} needs an array`);
  return value;
}

const TYPE_ALIASES: Record<number, string> = { 1: 'double', 2: 'string', 3: 'object', 4: 'array', 5: 'binData', 7: 'objectId', 8: 'bool', 9: 'date', 10: 'null', 11: 'regex', 16: 'int', 17: 'timestamp', 18: 'long', 19: 'decimal', [-1]: 'minKey', 127: 'maxKey' };

/** The BSON type name a stored value serialises as (numbers as bson writes them). */
function bsonTypeName(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31 ? 'int' : 'double';
  if ((v as { _bsontype?: string })._bsontype === 'Double') return 'double';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof Date) return 'date';
  if (v instanceof RegExp) return 'regex';
  if (Array.isArray(v)) return 'array';
  const t = (v as { _bsontype?: string })._bsontype;
  switch (t) {
    case 'Decimal128':
      return 'decimal';
    case 'Long':
      return 'long';
    case 'ObjectId':
      return 'objectId';
    case 'Binary':
      return 'binData';
    case 'Timestamp':
      return 'timestamp';
    case 'MinKey':
      return 'minKey';
    case 'MaxKey':
      return 'maxKey';
    case 'BSONRegExp':
      return 'regex';
    default:
      return 'object';
  }
}

function typeMatches(v: unknown, wanted: unknown): boolean {
  const name = typeof wanted === 'number' ? TYPE_ALIASES[wanted] : wanted;
  if (typeof name !== 'string') throw badValue(`unknown $type ${String(wanted)}`);
  const actual = bsonTypeName(v);
  if (name === 'number') return actual === 'int' || actual === 'double' || actual === 'long' || actual === 'decimal';
  return actual === name;
}

const queryOps = {
  $type: (selector: string, value: unknown): Pred => {
    const wanted = Array.isArray(value) ? value : [value];
    return (doc) =>
      pathValues(doc, selector).some((v) => {
        if (Array.isArray(v)) return wanted.some((w) => typeMatches(v, w)) || v.some((el) => wanted.some((w) => typeMatches(el, w)));
        return wanted.some((w) => typeMatches(v, w));
      });
  },
  $eq: (selector: string, value: unknown): Pred => (doc) => eqMatch(candidates(doc, selector), value),
  $ne: (selector: string, value: unknown): Pred => (doc) => !eqMatch(candidates(doc, selector), value),
  $gt: rangeOp((c) => c > 0, false),
  $gte: rangeOp((c) => c >= 0, true),
  $lt: rangeOp((c) => c < 0, false),
  $lte: rangeOp((c) => c <= 0, true),
  $in: (selector: string, value: unknown): Pred => {
    const list = inList(value, '$in');
    return (doc) => {
      const vals = candidates(doc, selector);
      return list.some((t) => eqMatch(vals, t));
    };
  },
  $nin: (selector: string, value: unknown): Pred => {
    const list = inList(value, '$nin');
    return (doc) => {
      const vals = candidates(doc, selector);
      return !list.some((t) => eqMatch(vals, t));
    };
  },
};

/** Sort key of one document for one field: arrays sort by their smallest (asc) or largest (desc) element. */
function sortKey(doc: unknown, path: string, dir: number): unknown {
  const vals: unknown[] = [];
  for (const v of pathValues(doc, path)) {
    if (Array.isArray(v)) {
      if (v.length === 0) vals.push(undefined);
      else vals.push(...v);
    } else vals.push(v);
  }
  let best = vals[0];
  for (const v of vals) if (compareValues(v, best) * dir < 0) best = v;
  return best;
}

export type SortSpec = Array<[string, 1 | -1]>;

export function parseSort(spec: unknown): SortSpec {
  if (spec === undefined || spec === null) return [];
  if (typeof spec !== 'object' || Array.isArray(spec)) throw badValue('sort must be an object');
  return Object.entries(spec as Document).map(([k, v]) => {
    const n = isNumeric(v) ? toNumber(v) : NaN;
    if (n !== 1 && n !== -1) {
      if (v && typeof v === 'object' && (v as Document).$meta) throw badValue('$meta sort is not supported by devdb');
      throw badValue(`bad sort direction for ${k}: must be 1 or -1`);
    }
    return [k, n as 1 | -1];
  });
}

export function sortDocuments<T>(docs: T[], spec: SortSpec): T[] {
  if (!spec.length) return docs;
  const keyed = docs.map((d) => ({ d, k: spec.map(([p, dir]) => sortKey(d, p, dir)) }));
  keyed.sort((a, b) => {
    for (let i = 0; i < spec.length; i++) {
      const c = compareValues(a.k[i], b.k[i]) * spec[i][1];
      if (c) return c;
    }
    return 0;
  });
  return keyed.map((x) => x.d);
}

const pipelineOps = {
  // mingo answers { n: 0 } over nothing; mongod returns no document.
  $count: (coll: MingoIterator, field: unknown): MingoIterator => {
    if (typeof field !== 'string' || !field || field.startsWith('$') || field.includes('.')) throw badValue('$count needs a non-empty field name without $ or .');
    return coll.transform((items: unknown[]) => Lazy(items.length ? [{ [field]: items.length }] : []));
  },
  $sort: (coll: MingoIterator, sortKeys: AnyObject): MingoIterator =>
    coll.transform((items: unknown[]) => Lazy(sortDocuments(items, parseSort(sortKeys)))),
};

/** Stage names the aggregate command accepts. */
export const PIPELINE_STAGES = new Set([...Object.keys(pipelineOperators), ...Object.keys(pipelineOps)]);

function numericValues(coll: AnyObject[], expr: unknown, options: Options): Numeric[] {
  return ($push(coll, expr, options) as unknown[]).filter(isNumeric) as Numeric[];
}

const accumulatorOps = {
  $sum: (coll: AnyObject[], expr: unknown, options: Options): Numeric => {
    if (isNumeric(expr)) return mulNumeric(expr, coll.length);
    return numericValues(coll, expr, options).reduce<Numeric>((a, b) => addNumeric(a, b), 0);
  },
  $avg: (coll: AnyObject[], expr: unknown, options: Options): Numeric | null => {
    const nums = numericValues(coll, expr, options);
    if (!nums.length) return null;
    return divideToDouble(
      nums.reduce<Numeric>((a, b) => addNumeric(a, b), 0),
      nums.length,
    );
  },
  $min: (coll: AnyObject[], expr: unknown, options: Options): unknown => extreme(coll, expr, options, -1),
  $max: (coll: AnyObject[], expr: unknown, options: Options): unknown => extreme(coll, expr, options, 1),
};

function extreme(coll: AnyObject[], expr: unknown, options: Options, dir: number): unknown {
  const vals = ($push(coll, expr, options) as unknown[]).filter((v) => v !== null && v !== undefined);
  if (!vals.length) return null;
  return vals.reduce((best, v) => (compareValues(v, best) * dir > 0 ? v : best));
}

// mingo merges contexts first-wins, so devdb builds the whole context itself with its operators on top.
const DEVDB_CONTEXT = Context.init({
  accumulator: { ...accumulatorOperators, ...accumulatorOps },
  expression: { ...expressionOperators },
  pipeline: { ...pipelineOperators, ...pipelineOps },
  projection: { ...projectionOperators },
  query: { ...queryOperators, ...queryOps },
  window: { ...windowOperators },
} as never);

function options(resolver?: CollectionResolver): Options {
  return {
    idKey: '_id',
    processingMode: 0,
    failOnError: true,
    context: DEVDB_CONTEXT,
    scriptEnabled: false,
    useStrictMode: true,
    collectionResolver: resolver,
  } as Options;
}

/** Compiles a filter once; the predicate is then run per document. */
export function compileFilter(filter: unknown): Pred {
  if (filter === undefined || filter === null) return () => true;
  if (typeof filter !== 'object' || Array.isArray(filter)) throw badValue('filter must be an object');
  if (Object.keys(filter as object).length === 0) return () => true;
  try {
    const q = new Query(filter as AnyObject, options());
    return (doc) => q.test(doc);
  } catch (err) {
    throw wrapMingo(err);
  }
}

/** Applies a find projection to documents that already matched. */
export function project(docs: Document[], projection: unknown): Document[] {
  if (!projection || typeof projection !== 'object' || Object.keys(projection).length === 0) return docs;
  // mingo copies the top level of each document but removes a dotted exclusion (`'a.b': 0`, or an
  // operator on a dotted path) from the nested object it shares with the stored document: copy those inputs.
  const mutates = Object.entries(projection as Document).some(([k, v]) => k.includes('.') && v !== 1 && v !== true);
  try {
    return new Query({}, { ...options(), ...(mutates ? { processingMode: 1 /* CLONE_INPUT */ } : {}) } as Options).find(docs, projection as AnyObject).all() as Document[];
  } catch (err) {
    throw wrapMingo(err);
  }
}

/** Stages that never write into the documents they read (their output is new objects, or the same ones untouched). */
const NON_MUTATING_STAGES = new Set(['$match', '$sort', '$limit', '$skip', '$count', '$group']);

/** A `$project` of top-level fields only, each included, excluded or computed by one expression: it builds new objects. */
function isFlatProjection(spec: unknown): boolean {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) return false;
  return Object.entries(spec as Document).every(([k, v]) => {
    if (k.includes('.') || k.startsWith('$')) return false;
    if (typeof v === 'number' || typeof v === 'boolean') return true;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
    const keys = Object.keys(v as Document);
    return keys.length === 1 && keys[0].startsWith('$');
  });
}

/**
 * Whether `pipeline` may read the stored documents themselves instead of
 * deep copies: only when every stage is known not to write into its input
 * (stored documents are never changed in place either — writes replace
 * them). Copying every matched document was the largest cost of devdb's
 * aggregations (a $group of events, a count of shipments).
 */
function readsWithoutCopy(pipeline: Document[]): boolean {
  return pipeline.every((stage) => {
    const [name] = Object.keys(stage);
    return NON_MUTATING_STAGES.has(name) || (name === '$project' && isFlatProjection(stage.$project));
  });
}

export function runPipeline(docs: Document[], pipeline: Document[], resolver: CollectionResolver): Document[] {
  try {
    const processingMode = readsWithoutCopy(pipeline) ? 0 /* CLONE_OFF */ : 1; /* CLONE_INPUT */
    return new Aggregator(pipeline, { ...options(resolver), processingMode } as never).run(docs) as Document[];
  } catch (err) {
    throw wrapMingo(err);
  }
}

export function wrapMingo(err: unknown): MongoServerError {
  if (err instanceof MongoServerError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return badValue(msg.replace(/^mingo:\s*/, ''));
}
