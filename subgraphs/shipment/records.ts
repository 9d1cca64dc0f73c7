/**
 * The shipment subgraph's domain records (what services return and
 * resolvers read), the mapping from stored documents, and who performs a
 * write. Internal to the subgraph.
 */
import mongoose from 'mongoose';
import type { AuditSink } from '../../lib/audit';
import type { DataScope } from '../../lib/context';
import type { ShipmentDoc, TrackingEventDoc } from './model';

// Our own operator objects are marked trusted: `sanitizeFilter` would otherwise wrap them in $eq.
export const { trusted } = mongoose;

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

/** Who performs a write. Anonymous callers never get this far. */
export type Caller = { kind: 'user'; id: string; tenantId: string; roles: string[] } | { kind: 'system'; id: string };

/** What a write needs besides its input. */
export interface WriteContext {
  caller: Caller;
  scope: DataScope;
  requestId: string;
  audit: AuditSink;
}

export function actorOf(caller: Caller): string {
  return `${caller.kind}:${caller.id}`;
}

/** The tenant condition of a query: part of the database filter, never a check after loading. */
export function tenantFilter(scope: DataScope): { tenantId?: { $in: string[] } } {
  return scope.tenantIds ? { tenantId: trusted({ $in: scope.tenantIds }) } : {};
}

/** Source of a clock: tests freeze it. */
export type Clock = () => Date;
