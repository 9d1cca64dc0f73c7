/**
 * The shipment subgraph's domain records (what services return and
 * resolvers read) and the mapping from stored documents. Who performs a
 * write (`Caller`, `WriteContext`) is lib/caller.ts. Internal to the subgraph.
 */
import type { ShipmentDoc, TrackingEventDoc } from './model';

/** Stored bookkeeping a shipment record never shows. */
type ShipmentBookkeeping = 'publicTokenHash' | 'rev' | 'progressRank' | 'lastAppliedAt';
/** Stored bookkeeping an event record never shows. */
type EventBookkeeping = 'fingerprint' | 'processed' | 'statusApplied' | 'reportedBy';

export type Shipment = Omit<ShipmentDoc, '_id' | ShipmentBookkeeping> & {
  id: string;
  /** Set only on the result of `createShipment`: the token is never stored in clear. */
  publicTrackingToken?: string;
};

export type TrackingEvent = Omit<TrackingEventDoc, '_id' | EventBookkeeping> & { id: string };

// Every stored field a record is built from, checked by the compiler against the document types (a field added to
// ShipmentDoc fails here until it is listed). Reads that project (selection.ts) fetch these and nothing else.
const SHIPMENT_STORED: Record<Exclude<keyof ShipmentDoc, ShipmentBookkeeping>, true> = {
  _id: true,
  tenantId: true,
  region: true,
  carrier: true,
  trackingNumber: true,
  serviceLevel: true,
  status: true,
  statusDetail: true,
  eta: true,
  originalEta: true,
  isReturn: true,
  origin: true,
  destination: true,
  recipient: true,
  deliveryNotes: true,
  customs: true,
  parcels: true,
  recipientSubjectId: true,
  dataTags: true,
  proofOfDelivery: true,
  createdAt: true,
  updatedAt: true,
};
const EVENT_STORED: Record<Exclude<keyof TrackingEventDoc, EventBookkeeping>, true> = {
  _id: true,
  tenantId: true,
  shipmentId: true,
  recipientSubjectId: true,
  clientEventId: true,
  occurredAt: true,
  utcOffsetMinutes: true,
  recordedAt: true,
  status: true,
  subStatus: true,
  rawCarrierCode: true,
  message: true,
  source: true,
  bizStep: true,
  disposition: true,
  location: true,
  coordinates: true,
  eta: true,
};

/** The stored fields `toShipment` reads (`_id` included). */
export const SHIPMENT_FIELDS: readonly string[] = Object.freeze(Object.keys(SHIPMENT_STORED));
/** The stored fields `toTrackingEvent` reads (`_id` included). */
export const TRACKING_EVENT_FIELDS: readonly string[] = Object.freeze(Object.keys(EVENT_STORED));

// Field by field rather than rest/spread: a rest copy of the whole document went through V8's slow generic path
// (≈ 7 % of the subgraph's CPU on a 50-shipment list), and every record now has the same shape. A field a read
// left out by projection (selection.ts) reads as undefined, as it would have been absent before.

export function toShipment(doc: ShipmentDoc): Shipment {
  return {
    id: doc._id,
    tenantId: doc.tenantId,
    region: doc.region,
    carrier: doc.carrier,
    trackingNumber: doc.trackingNumber,
    serviceLevel: doc.serviceLevel,
    status: doc.status,
    statusDetail: doc.statusDetail,
    eta: doc.eta,
    originalEta: doc.originalEta,
    isReturn: doc.isReturn,
    origin: doc.origin,
    destination: doc.destination,
    recipient: doc.recipient,
    deliveryNotes: doc.deliveryNotes,
    customs: doc.customs,
    parcels: doc.parcels,
    recipientSubjectId: doc.recipientSubjectId,
    dataTags: doc.dataTags,
    proofOfDelivery: doc.proofOfDelivery,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}

export function toTrackingEvent(doc: TrackingEventDoc): TrackingEvent {
  return {
    id: doc._id,
    tenantId: doc.tenantId,
    shipmentId: doc.shipmentId,
    recipientSubjectId: doc.recipientSubjectId,
    clientEventId: doc.clientEventId,
    occurredAt: doc.occurredAt,
    utcOffsetMinutes: doc.utcOffsetMinutes,
    recordedAt: doc.recordedAt,
    status: doc.status,
    subStatus: doc.subStatus,
    rawCarrierCode: doc.rawCarrierCode,
    message: doc.message,
    source: doc.source,
    bizStep: doc.bizStep,
    disposition: doc.disposition,
    location: doc.location,
    coordinates: doc.coordinates,
    eta: doc.eta,
  };
}

/** Source of a clock: tests freeze it. */
export type Clock = () => Date;
