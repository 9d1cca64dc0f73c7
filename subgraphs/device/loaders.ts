/**
 * Per-request DataLoaders: every entity reference and every per-shipment
 * field batches into one query per collection, whatever the number of
 * parents. Created fresh for each request with that request's scope, so a
 * cached entity never crosses requests or tenants.
 */
import DataLoader from 'dataloader';
import type { DataScope } from '../../lib/context';
import type { CursorPosition } from '../../lib/pagination';
import type { DeviceModels } from './model';
import { type ReadingPage, type ReadingPageRequest, readingPages } from './reading-pages';
import { type Device, deviceIdsByShipments, devicesByIds } from './service';

export interface DeviceLoaders {
  /** A device by id; null when missing or outside the scope. */
  deviceById: DataLoader<string, Device | null>;
  /** Devices attached to a shipment (by the seed, dispatch or their readings). */
  devicesByShipment: DataLoader<string, Device[]>;
  /** A page of a shipment's readings, newest first; `latestReading` is the page `first: 1`. */
  readingPage: DataLoader<ReadingPageRequest, ReadingPage, string>;
}

const pageKey = (r: { shipmentId: string; first: number; after?: CursorPosition }): string =>
  JSON.stringify([r.shipmentId, r.first, r.after ? [r.after.k, r.after.id] : null]);

export function createLoaders(models: DeviceModels, scope: DataScope): DeviceLoaders {
  const deviceById = new DataLoader<string, Device | null>((ids) => devicesByIds(models, scope, ids));
  const devicesByShipment = new DataLoader<string, Device[]>(async (shipmentIds) => {
    const idLists = await deviceIdsByShipments(models, scope, shipmentIds);
    // Through deviceById: one devices query for all shipments, shared with any `_entities` Device references.
    const devices = await deviceById.loadMany([...new Set(idLists.flat())]);
    const byId = new Map<string, Device>();
    for (const d of devices) if (d && !(d instanceof Error)) byId.set(d.id, d);
    return idLists.map((ids) => ids.flatMap((id) => byId.get(id) ?? []));
  });
  const readingPage = new DataLoader<ReadingPageRequest, ReadingPage, string>((requests) => readingPages(models, scope, requests), { cacheKeyFn: pageKey });
  return { deviceById, devicesByShipment, readingPage };
}
