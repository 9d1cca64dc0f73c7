/**
 * The shipment subgraph's domain records (what services return and
 * resolvers read) and the mapping from stored documents. Who performs a
 * write (`Caller`, `WriteContext`) is lib/caller.ts. Internal to the subgraph.
 */
import type { ShipmentDoc, TrackingEventDoc } from './model';

export type Shipment = Omit<ShipmentDoc, '_id' | 'publicTokenHash' | 'rev' | 'progressRank' | 'lastAppliedAt'> & {
  id: string;
  /** Set only on the result of `createShipment`: the token is never stored in clear. */
  publicTrackingToken?: string;
};

export type TrackingEvent = Omit<TrackingEventDoc, '_id' | 'fingerprint' | 'processed' | 'statusApplied' | 'reportedBy'> & { id: string };

export function toShipment(doc: ShipmentDoc): Shipment {
  const { _id, publicTokenHash: _hash, rev: _rev, progressRank: _rank, lastAppliedAt: _last, ...rest } = doc;
  return { id: _id, ...rest };
}

export function toTrackingEvent(doc: TrackingEventDoc): TrackingEvent {
  const { _id, fingerprint: _f, processed: _p, statusApplied: _a, reportedBy: _r, ...rest } = doc;
  return { id: _id, ...rest };
}

/** Source of a clock: tests freeze it. */
export type Clock = () => Date;
