/**
 * The aggregate command: runs the pipeline with mingo over the collection's
 * visible documents; `$lookup`/`$unionWith` read other collections of the
 * same database through the same view (transactions included). Stages that
 * write ($out, $merge) or need server internals are refused by name.
 */
import type { Document } from 'bson';
import { compileFilter, runPipeline, PIPELINE_STAGES } from '../engine/query';
import { MongoServerError, badValue } from '../errors';
import { assertRepresentable, optionalInt, type Handler } from './context';

const REFUSED = new Set(['$out', '$merge', '$currentOp', '$listSessions', '$indexStats', '$collStats', '$planCacheStats', '$search', '$geoNear', '$changeStream']);

export const aggregate: Handler = (ctx) => {
  const target = ctx.cmd.aggregate;
  if (typeof target !== 'string') throw new MongoServerError('InvalidOptions', 'devdb supports collection-level aggregate only');
  if (!Array.isArray(ctx.cmd.pipeline)) throw badValue("'pipeline' option must be specified as an array");
  if (ctx.cmd.explain) throw new MongoServerError('CommandNotFound', 'devdb does not support explain');
  if (ctx.cmd.collation && Object.keys(ctx.cmd.collation).length) throw badValue('devdb does not support collation');
  const pipeline = ctx.cmd.pipeline as Document[];
  assertRepresentable(pipeline);
  for (const stage of pipeline) {
    const name = stage && typeof stage === 'object' ? Object.keys(stage)[0] : undefined;
    if (!name || Object.keys(stage).length !== 1) throw badValue('A pipeline stage specification object must contain exactly one field.');
    if (REFUSED.has(name)) throw new MongoServerError('BadValue', `devdb does not support the ${name} stage`);
    if (!PIPELINE_STAGES.has(name)) throw new MongoServerError('Location40324', `Unrecognized pipeline stage name: '${name}'`);
  }
  const read = (name: string) => ctx.store.find(ctx.store.collection(ctx.db, name), undefined, () => true, ctx.txn);
  // A leading $match can use an index.
  const first = pipeline[0]?.$match as Document | undefined;
  const source = first
    ? ctx.store.find(ctx.store.collection(ctx.db, target), first, compileFilter(first), ctx.txn)
    : read(target);
  const docs = runPipeline(source, first ? pipeline.slice(1) : pipeline, read);
  const batchSize = optionalInt((ctx.cmd.cursor as Document | undefined)?.batchSize, 'cursor.batchSize');
  return ctx.cursors.firstBatch(`${ctx.db}.${target}`, docs, batchSize);
};
