/**
 * Seeds the demo shipments of the demo plan (seed-data.ts): idempotent.
 * When every plan shipment exists it does nothing; otherwise it inserts
 * what is missing (events and claims first, shipments last, so a run cut
 * short is completed by the next one) and never overwrites.
 */
import { trusted, type Connection } from 'mongoose';
import { encryptDocuments } from '../../lib/crypto/model-encryption';
import type { DemoPlan } from '../../lib/demo';
import { createModels, ensureIndexes, type ShipmentDoc } from './model';
import { defaultSeedAnchor, demoShipmentData } from './seed-data';
import type { ShipmentStatus } from './status';
import { demoTrackingToken } from './tokens';

export interface SeedOptions {
  /** Time the demo journeys end at. @default today's UTC midnight */
  anchor?: Date;
}

export async function seed(conn: Connection, plan: DemoPlan, options: SeedOptions = {}): Promise<void> {
  const models = createModels(conn);
  await ensureIndexes(models);
  const ids = plan.shipments.map((s) => s.id);
  const present = await models.Shipment.countDocuments({ _id: trusted({ $in: ids }) }).exec();
  if (present === ids.length) return;
  const data = demoShipmentData(plan, options.anchor ?? defaultSeedAnchor());
  // Raw driver writes skip the plugin's hooks: encrypt (and blind-index) the personal fields first.
  await encryptDocuments(models.TrackingEvent, data.events);
  await encryptDocuments(models.Shipment, data.shipments);
  // Raw driver writes: the documents are complete, and upserts by _id keep reruns harmless.
  const insertMissing = <T extends { _id: string }>(docs: T[]) =>
    docs.map((d) => {
      const { _id, ...rest } = d;
      return { updateOne: { filter: { _id }, update: { $setOnInsert: rest }, upsert: true } };
    });
  await models.TrackingEvent.collection.bulkWrite(insertMissing(data.events) as never, { ordered: false });
  await models.TrackingNumberClaim.collection.bulkWrite(insertMissing(data.claims) as never, { ordered: false });
  await models.Shipment.collection.bulkWrite(insertMissing(data.shipments) as never, { ordered: false });
}

export interface DemoTrackingLink {
  shipmentId: string;
  carrier: string;
  trackingNumber: string;
  /** Public tracking token: derived from the id with a fixed development label (tokens.ts). */
  token: string;
  status: ShipmentStatus;
}

/**
 * Tracking number and public token of `count` demo shipments in different
 * states (in transit, delivered, out for delivery…), for the start script
 * to print next to a `trackShipment` example.
 */
export function demoTrackingLinks(plan: DemoPlan, count = 3): DemoTrackingLink[] {
  const { shipments } = demoShipmentData(plan, defaultSeedAnchor());
  const seen = new Set<ShipmentStatus>();
  const picked: ShipmentDoc[] = [];
  for (const s of shipments) {
    if (picked.length >= count) break;
    if (seen.has(s.status)) continue;
    seen.add(s.status);
    picked.push(s);
  }
  return picked.map((s) => ({ shipmentId: s._id, carrier: s.carrier, trackingNumber: s.trackingNumber, token: demoTrackingToken(s._id), status: s.status }));
}
