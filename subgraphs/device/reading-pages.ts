/**
 * Pages of sensor readings for many shipments at once: the query behind the
 * `Shipment.readings` and `Shipment.latestReading` loaders.
 */
import { tenantMatch } from '../../lib/caller';
import type { DataScope } from '../../lib/context';
import type { CursorPosition } from '../../lib/pagination';
import type { DeviceModels, ReadingDoc } from './model';
import { type SensorReading, dateCursor, toReading } from './service';

/** One shipment's page of readings: newest first, `after` a cursor of the same order. */
export interface ReadingPageRequest {
  shipmentId: string;
  first: number;
  after?: CursorPosition;
}

export interface ReadingPage {
  /** Up to `first + 1` readings after the cursor (the extra one says whether a next page exists). */
  items: SensorReading[];
  /** All readings of the shipment, regardless of the cursor. */
  totalCount: number;
}

type GroupedRow = { _id: string; total: number; items: Array<ReadingDoc & { _q?: boolean }> };

/**
 * Pages of readings for many shipments with one aggregate per distinct
 * `after` cursor (one in the usual case: first pages, or `latestReading`
 * next to `readings`). The aggregate matches the shipments' readings through
 * the (tenantId, shipmentId, recordedAt, _id) index, counts them per
 * shipment and keeps the newest `max(first) + 1` with `$firstN`.
 *
 * Trade-off: counting touches every reading of the batch's shipments, so
 * the work grows with their readings, but only `first + 1` per shipment
 * cross the wire and the number of queries stays one however many shipments
 * are asked. Per-shipment `find().limit()` would read less per query but
 * needs one query per shipment (the N+1 this avoids); sorting everything in
 * memory would ship every reading to the subgraph.
 *
 * With a cursor, `_q` marks the readings after it and sorts them first, so
 * `$firstN` keeps the page while `total` still counts them all.
 */
export async function readingPages(models: DeviceModels, scope: DataScope, requests: readonly ReadingPageRequest[]): Promise<ReadingPage[]> {
  const groups = new Map<string, ReadingPageRequest[]>();
  for (const r of requests) {
    const key = r.after ? JSON.stringify([r.after.k, r.after.id]) : '';
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const results = new Map<ReadingPageRequest, ReadingPage>();
  await Promise.all(
    [...groups.values()].map(async (group) => {
      const after = group[0].after && dateCursor(group[0].after);
      const n = Math.max(...group.map((r) => r.first)) + 1;
      const pipeline: object[] = [{ $match: { ...tenantMatch(scope), shipmentId: { $in: [...new Set(group.map((r) => r.shipmentId))] } } }];
      if (after) {
        pipeline.push({
          $addFields: { _q: { $or: [{ $lt: ['$recordedAt', after.at] }, { $and: [{ $eq: ['$recordedAt', after.at] }, { $lt: ['$_id', after.id] }] }] } },
        });
        pipeline.push({ $sort: { shipmentId: 1, _q: -1, recordedAt: -1, _id: -1 } });
      } else {
        pipeline.push({ $sort: { shipmentId: 1, recordedAt: -1, _id: -1 } });
      }
      pipeline.push({ $group: { _id: '$shipmentId', total: { $sum: 1 }, items: { $firstN: { n, input: '$$ROOT' } } } });
      const rows = await models.SensorReading.aggregate<GroupedRow>(pipeline as never);
      const byShipment = new Map(rows.map((row) => [row._id, row]));
      for (const r of group) {
        const row = byShipment.get(r.shipmentId);
        const items = (row?.items ?? []).filter((d) => d._q !== false).slice(0, r.first + 1);
        results.set(r, { items: items.map(toReading), totalCount: row?.total ?? 0 });
      }
    }),
  );
  return requests.map((r) => results.get(r)!);
}
