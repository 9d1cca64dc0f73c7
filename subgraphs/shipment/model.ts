/**
 * Mongoose models of the shipment subgraph: shipments (with their parcels
 * and the latest proof of delivery embedded), tracking events (their own
 * collection) and tracking-number claims (what makes "unique per tenant,
 * carrier and 180 days" race-free). Ids are 24-hex strings in `_id`, like
 * the demo plan's. Model names carry a `Shipment` prefix: every subgraph
 * may share one connection in `npm start`.
 *
 * Personal fields (recipient, address lines, postal codes, delivery notes,
 * signer name, signature/photo references, coordinates) are encrypted
 * (lib/crypto/model-encryption.ts) under the data key of the shipment's
 * recipient (`recipientSubjectId`), events' under the same subject's:
 * erasing the recipient shreds that key and every copy of those values
 * becomes unreadable. Which paths: lib/pii/storage.ts. A shipment's are
 * sealed together in one document envelope (`pii`): a page of shipments
 * is read with one decryption each, not one per value; events keep an
 * envelope per field (two values, rarely selected). Recipient email and
 * phone carry blind indexes for support lookups.
 */
import { Schema, Types, type Connection, type Model } from 'mongoose';
import { encryptedFields } from '../../lib/crypto/model-encryption';
import { storedPiiPaths } from '../../lib/pii';
import { SHIPMENT_STATUSES, type ShipmentStatus } from './status';
import { DATA_TAGS, type DataTag } from '../../lib/context';

export const REGIONS = ['EU', 'US', 'APAC'] as const;
export type RegionCode = (typeof REGIONS)[number];
export const EVENT_SOURCES = ['CARRIER', 'DRIVER_SCAN', 'SENSOR', 'MANUAL'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];
export const DELIVERY_OUTCOMES = ['SUCCEEDED', 'FAILED'] as const;
export const TEMPERATURE_UNITS = ['CEL', 'FAH'] as const;

/** A new id: the hex form of an ObjectId. */
export function newId(): string {
  return new Types.ObjectId().toHexString();
}

export interface AddressDoc {
  line1: string | null;
  line2: string | null;
  city: string | null;
  region: string | null;
  postalCode: string | null;
  countryIso3: string;
}

export interface ContactDoc {
  name: string | null;
  phone: string | null;
  email: string | null;
}

export interface CustomsDoc {
  hsCode: string;
  /** Minor units of `currency`; an integer. */
  declaredValue: number;
  currency: string;
  countryOfOrigin: string;
}

export interface ParcelDoc {
  barcode: string;
  weightGrams: number | null;
  dimensions: { lengthMm: number; widthMm: number; heightMm: number } | null;
  temperatureProfile: { min: number; max: number; unit: (typeof TEMPERATURE_UNITS)[number] } | null;
}

export interface GeoPointDoc {
  latitude: number;
  longitude: number;
  accuracyMeters: number | null;
}

export interface ProofOfDeliveryDoc {
  outcome: (typeof DELIVERY_OUTCOMES)[number];
  failureReason: string | null;
  signerName: string | null;
  signerRelationship: string | null;
  signatureRef: string | null;
  photoRefs: string[] | null;
  scannedBarcodes: string[];
  pinVerified: boolean;
  geo: GeoPointDoc | null;
  capturedAt: Date;
  deviceId: string | null;
  retainUntil: Date | null;
  /** The tracking event it came with. */
  eventId: string;
}

export interface ShipmentDoc {
  _id: string;
  tenantId: string;
  region: RegionCode;
  carrier: string;
  /** Normalised (trimmed, upper case). */
  trackingNumber: string;
  serviceLevel: string | null;
  status: ShipmentStatus;
  statusDetail: string | null;
  /** Highest forward rank reached (status.ts). */
  progressRank: number;
  /** `occurredAt` of the latest event that moved the status. */
  lastAppliedAt: Date | null;
  eta: Date | null;
  originalEta: Date | null;
  isReturn: boolean;
  origin: AddressDoc;
  destination: AddressDoc;
  recipient: ContactDoc | null;
  deliveryNotes: string | null;
  customs: CustomsDoc | null;
  parcels: ParcelDoc[];
  recipientSubjectId: string;
  /** Data tags (lib/context.ts `DATA_TAGS`): only principals cleared for every one see the shipment. Absent on older records: none. */
  dataTags?: DataTag[];
  /** Hex SHA-256 of the public tracking token; the token itself is never stored. */
  publicTokenHash: string;
  /** Proof of the last delivery attempt (by `capturedAt`). */
  proofOfDelivery: ProofOfDeliveryDoc | null;
  /** Optimistic-concurrency revision, bumped by every write. */
  rev: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface TrackingEventDoc {
  _id: string;
  tenantId: string;
  shipmentId: string;
  /** The shipment's recipient: the data subject whose key encrypts the event's personal fields. */
  recipientSubjectId: string;
  /** Idempotency key: unique per tenant and shipment. */
  clientEventId: string;
  /** SHA-256 of the normalised input: tells a replay from a reused key. */
  fingerprint: string;
  occurredAt: Date;
  utcOffsetMinutes: number | null;
  recordedAt: Date;
  status: ShipmentStatus;
  subStatus: { code: string; text: string | null; actionRequired: boolean } | null;
  rawCarrierCode: string | null;
  message: string | null;
  source: EventSource;
  bizStep: string | null;
  disposition: string | null;
  location: { city: string | null; region: string | null; postalCode: string | null; countryIso3: string | null; readPoint: string | null } | null;
  coordinates: GeoPointDoc | null;
  /** ETA the reporter sent with the event. */
  eta: Date | null;
  /** Who reported it (`user:<id>`, `system:<id>`). */
  reportedBy: string;
  /** Whether the event moved the shipment's status. */
  statusApplied: boolean;
  /** False until the shipment has been updated from it; a replay finishes the job. */
  processed: boolean;
}

export interface TrackingNumberClaimDoc {
  /** `claimKey(tenantId, carrier, trackingNumber)`: the `_id` index makes the claim unique. */
  _id: string;
  tenantId: string;
  carrier: string;
  trackingNumber: string;
  shipmentId: string;
  claimedAt: Date;
}

// An encrypted path holds a BSON Binary envelope at rest and the plain value once read (validation.ts checks it before writes).
const Encrypted = { type: Schema.Types.Mixed, default: null };
// A path of a shipment's document envelope: nothing is stored there (no default null either), reads put the value back.
const Sealed = { type: Schema.Types.Mixed };

const address = new Schema<AddressDoc>(
  { line1: Sealed, line2: Sealed, city: String, region: String, postalCode: Sealed, countryIso3: { type: String, required: true } },
  { _id: false },
);
const contact = new Schema<ContactDoc>({ name: Sealed, phone: Sealed, email: Sealed }, { _id: false });

const shipmentSchema = new Schema<ShipmentDoc>(
  {
    _id: { type: String, default: newId },
    tenantId: { type: String, required: true },
    region: { type: String, enum: REGIONS, required: true },
    carrier: { type: String, required: true },
    trackingNumber: { type: String, required: true },
    serviceLevel: { type: String, default: null },
    status: { type: String, enum: SHIPMENT_STATUSES, required: true },
    statusDetail: { type: String, default: null },
    progressRank: { type: Number, default: 0 },
    lastAppliedAt: { type: Date, default: null },
    eta: { type: Date, default: null },
    originalEta: { type: Date, default: null },
    isReturn: { type: Boolean, default: false },
    origin: { type: address, required: true },
    destination: { type: address, required: true },
    // Every field of a contact lives in the envelope: a present recipient is stored as {}, which mongoose would drop on insert.
    recipient: { type: contact, default: null, minimize: false },
    deliveryNotes: Sealed,
    customs: {
      type: new Schema<CustomsDoc>({ hsCode: String, declaredValue: Number, currency: String, countryOfOrigin: String }, { _id: false }),
      default: null,
    },
    parcels: {
      type: [
        new Schema<ParcelDoc>(
          {
            barcode: { type: String, required: true },
            weightGrams: { type: Number, default: null },
            dimensions: { type: new Schema({ lengthMm: Number, widthMm: Number, heightMm: Number }, { _id: false }), default: null },
            temperatureProfile: { type: new Schema({ min: Number, max: Number, unit: { type: String, enum: TEMPERATURE_UNITS } }, { _id: false }), default: null },
          },
          { _id: false },
        ),
      ],
      default: [],
    },
    recipientSubjectId: { type: String, required: true },
    dataTags: { type: [String], enum: DATA_TAGS, default: [] },
    publicTokenHash: { type: String, required: true },
    proofOfDelivery: {
      type: new Schema<ProofOfDeliveryDoc>(
        {
          outcome: { type: String, enum: DELIVERY_OUTCOMES, required: true },
          failureReason: String,
          signerName: Sealed,
          signerRelationship: String,
          signatureRef: Sealed,
          photoRefs: Sealed,
          scannedBarcodes: { type: [String], default: [] },
          pinVerified: { type: Boolean, default: false },
          geo: Sealed,
          capturedAt: { type: Date, required: true },
          deviceId: String,
          retainUntil: Date,
          eventId: String,
        },
        { _id: false },
      ),
      default: null,
    },
    rev: { type: Number, default: 0 },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'shipments', versionKey: false },
);
// `shipments(filter, first, after)`: the tenant first, newest first, `_id` breaks ties.
shipmentSchema.index({ tenantId: 1, createdAt: -1, _id: -1 });
// The same for a region-restricted caller (ABAC: lib/caller.ts `recordFilter` puts the regions in every query).
shipmentSchema.index({ tenantId: 1, region: 1, createdAt: -1, _id: -1 });
// The 180-day uniqueness query and tracking-number filters.
shipmentSchema.index({ tenantId: 1, carrier: 1, trackingNumber: 1, createdAt: -1 });
// Public tracking looks a number up across tenants (the token is the authorisation).
shipmentSchema.index({ trackingNumber: 1, createdAt: -1 });
// Privacy requests find a data subject's shipments.
shipmentSchema.index({ recipientSubjectId: 1 });
shipmentSchema.plugin(encryptedFields, {
  collection: 'shipments',
  paths: storedPiiPaths('shipment', 'shipments').map((p) => p.path),
  subjectPath: 'recipientSubjectId',
  // One envelope per shipment (at `pii`): a 100-shipment page costs 100 decryptions rather than 500 or more.
  envelope: 'document',
  // Support finds shipments by the recipient's email or phone (shipmentsByRecipientContact); 16 bits suit up to
  // about 2^32 shipments per tenant by CipherSweet's planner (planBlindIndexBits), coarse enough to leak little.
  blindIndexes: [
    { path: 'recipient.email', name: 'recipientEmail', normalise: 'email', bits: 16 },
    { path: 'recipient.phone', name: 'recipientPhone', normalise: 'phone', bits: 16 },
  ],
});

const trackingEventSchema = new Schema<TrackingEventDoc>(
  {
    _id: { type: String, default: newId },
    tenantId: { type: String, required: true },
    shipmentId: { type: String, required: true },
    recipientSubjectId: { type: String, required: true },
    clientEventId: { type: String, required: true },
    fingerprint: { type: String, required: true },
    occurredAt: { type: Date, required: true },
    utcOffsetMinutes: { type: Number, default: null },
    recordedAt: { type: Date, required: true },
    status: { type: String, enum: SHIPMENT_STATUSES, required: true },
    subStatus: { type: new Schema({ code: String, text: String, actionRequired: Boolean }, { _id: false }), default: null },
    rawCarrierCode: { type: String, default: null },
    message: { type: String, default: null },
    source: { type: String, enum: EVENT_SOURCES, required: true },
    bizStep: { type: String, default: null },
    disposition: { type: String, default: null },
    location: {
      type: new Schema({ city: String, region: String, postalCode: Encrypted, countryIso3: String, readPoint: String }, { _id: false }),
      default: null,
    },
    coordinates: Encrypted,
    eta: { type: Date, default: null },
    reportedBy: { type: String, required: true },
    statusApplied: { type: Boolean, default: false },
    processed: { type: Boolean, default: false },
  },
  { collection: 'tracking_events', versionKey: false },
);
// Idempotency: one event per (tenant, shipment, clientEventId).
trackingEventSchema.index({ tenantId: 1, shipmentId: 1, clientEventId: 1 }, { unique: true });
// Event history and the batched `$in` of `Shipment.events` / `latestEvent`.
trackingEventSchema.index({ shipmentId: 1, occurredAt: -1, _id: -1 });
trackingEventSchema.index({ tenantId: 1 });
trackingEventSchema.plugin(encryptedFields, {
  collection: 'tracking_events',
  paths: storedPiiPaths('shipment', 'tracking_events').map((p) => p.path),
  subjectPath: 'recipientSubjectId',
});

const claimSchema = new Schema<TrackingNumberClaimDoc>(
  {
    _id: { type: String, required: true },
    tenantId: { type: String, required: true },
    carrier: { type: String, required: true },
    trackingNumber: { type: String, required: true },
    shipmentId: { type: String, required: true },
    claimedAt: { type: Date, required: true },
  },
  { collection: 'tracking_number_claims', versionKey: false },
);
// One claim per tenant, carrier and number (its `_id`); a claim older than the window is taken over.
claimSchema.index({ tenantId: 1 });

/** The `_id` of the claim on a tracking number. */
export function claimKey(tenantId: string, carrier: string, trackingNumber: string): string {
  return `${tenantId}:${carrier}:${trackingNumber}`;
}

export interface ShipmentModels {
  Shipment: Model<ShipmentDoc>;
  TrackingEvent: Model<TrackingEventDoc>;
  TrackingNumberClaim: Model<TrackingNumberClaimDoc>;
}

/** The shipment models on `conn`, compiled once per connection. */
export function createModels(conn: Connection): ShipmentModels {
  return {
    Shipment: (conn.models.ShipmentShipment as Model<ShipmentDoc> | undefined) ?? conn.model<ShipmentDoc>('ShipmentShipment', shipmentSchema),
    TrackingEvent:
      (conn.models.ShipmentTrackingEvent as Model<TrackingEventDoc> | undefined) ?? conn.model<TrackingEventDoc>('ShipmentTrackingEvent', trackingEventSchema),
    TrackingNumberClaim:
      (conn.models.ShipmentTrackingNumberClaim as Model<TrackingNumberClaimDoc> | undefined) ??
      conn.model<TrackingNumberClaimDoc>('ShipmentTrackingNumberClaim', claimSchema),
  };
}

/** Resolves once every index (the unique ones above all) exists: call before serving writes. */
export async function ensureIndexes(models: ShipmentModels): Promise<void> {
  await Promise.all([models.Shipment.init(), models.TrackingEvent.init(), models.TrackingNumberClaim.init()]);
}
