/**
 * Per-request DataLoaders: every `__resolveReference` and every per-shipment
 * field goes through them, so 50 shipments cost one `$in` query per
 * collection. The scope is baked in: a loader never returns another
 * tenant's shipment or events; it returns null / nothing, exactly as for
 * an unknown id. So is the request's read plan (selection.ts): resolvers
 * hand their `info` to `select` before loading, and the loaders then fetch
 * only the personal fields the operation selects.
 */
import DataLoader from 'dataloader';
import type { DataScope } from '../../lib/context';
import type { ShipmentModels } from './model';
import type { Clock, Shipment, TrackingEvent } from './records';
import { readPlannerOf, type OperationInfo, type ReadPlan, type ReadPlanner } from './selection';
import { ShipmentService } from './service';
import { TrackingService } from './tracking';

/** One request for a page of a shipment's events. */
export interface EventPageKey {
  shipmentId: string;
  first: number;
  /** Position of the cursor the page starts after. */
  after?: { at: Date; id: string };
}

/** Up to `first + 1` events after the cursor (the extra one says whether a next page exists), and the shipment's total. */
export interface EventPage {
  items: TrackingEvent[];
  total: number;
}

export interface ShipmentLoaders {
  shipmentById: DataLoader<string, Shipment | null>;
  /** Pages of events; `latestEvent` is the page `{ first: 1 }`, so both share one query. */
  eventPage: DataLoader<EventPageKey, EventPage, string>;
  /**
   * The request's read plan, from the operation `info` belongs to: resolvers
   * call it before their first load. Until a resolver has, the loaders read
   * whole documents (a reveal loads without it).
   */
  select(info: OperationInfo): ReadPlan;
}

const pageKey = (k: EventPageKey) => `${k.shipmentId}|${k.first}|${k.after ? `${k.after.at.getTime()}:${k.after.id}` : ''}`;

function isAfter(e: TrackingEvent, after: { at: Date; id: string }): boolean {
  const t = e.occurredAt.getTime();
  const a = after.at.getTime();
  return t < a || (t === a && e.id < after.id);
}

/** Fresh loaders for one request; call once per request with that request's scope. */
export function createLoaders(models: ShipmentModels, scope: DataScope, now?: Clock, planner: ReadPlanner = readPlannerOf(models)): ShipmentLoaders {
  const shipments = new ShipmentService(models, now);
  const tracking = new TrackingService(models, now);
  let plan: ReadPlan = planner.full;
  let operation: object | undefined;
  return {
    select(info) {
      if (operation === undefined) {
        operation = info.operation;
        plan = planner.plan(info);
      } else if (operation !== info.operation) {
        // One request runs one operation; should that ever change, the union of two plans is not worth the risk.
        plan = planner.full;
      }
      return plan;
    },
    shipmentById: new DataLoader(async (ids) => {
      const found = new Map((await shipments.shipmentsByIds(scope, ids, plan.shipments)).map((s) => [s.id, s]));
      return ids.map((id) => found.get(id) ?? null);
    }),
    eventPage: new DataLoader(
      async (keys) => {
        const ids = [...new Set(keys.map((k) => k.shipmentId))];
        // Without cursors the database trims each history to the longest page asked for.
        const limit = keys.some((k) => k.after) ? undefined : Math.max(...keys.map((k) => k.first)) + 1;
        const histories = await tracking.eventHistories(scope, ids, limit, plan.events);
        return keys.map((k) => {
          const h = histories.get(k.shipmentId) ?? { total: 0, events: [] };
          const list = k.after ? h.events.filter((e) => isAfter(e, k.after!)) : h.events;
          return { total: h.total, items: list.slice(0, k.first + 1) };
        });
      },
      { cacheKeyFn: pageKey },
    ),
  };
}
