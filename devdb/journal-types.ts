/**
 * What the journal records: the committed effects of writes, one atomic
 * batch per acknowledged command or committed transaction. The engine turns
 * each batch into state with `applyOp`; a snapshot is the same ops that
 * rebuild the whole state from empty.
 */
import type { Document } from 'bson';

export type JournalOp =
  /** Insert, or replace the whole document with the same `_id`. */
  | { op: 'put'; db: string; coll: string; doc: Document }
  /** Delete the document with this `_id`. */
  | { op: 'del'; db: string; coll: string; id: unknown }
  | { op: 'createColl'; db: string; coll: string; options?: Document }
  | { op: 'dropColl'; db: string; coll: string }
  | { op: 'dropDb'; db: string }
  /** An index spec as sent by createIndexes (key, name, unique, sparse, partialFilterExpression, expireAfterSeconds). */
  | { op: 'createIndex'; db: string; coll: string; spec: Document }
  | { op: 'dropIndex'; db: string; coll: string; name: string };

export type JournalBatch = JournalOp[];
