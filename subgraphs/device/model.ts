/**
 * Mongoose models of the device subgraph: devices, their sensor readings and
 * the shipment ↔ device attachments. Every collection is tenant-owned and
 * indexed by `tenantId` first, so every query (always tenant-filtered) is an
 * index lookup. Ids are strings: 24-hex ObjectId strings for new documents,
 * the demo plan's stable ids for seeded ones.
 */
import { createHash } from 'node:crypto';
import { type Connection, Schema, Types, type Model } from 'mongoose';

export const DEVICE_KINDS = ['SCANNER', 'GATEWAY', 'SENSOR_TAG', 'DRIVER_PHONE'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

export const DEVICE_STATUSES = ['PENDING', 'ACTIVE', 'QUARANTINED', 'RETIRED'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

export const SENSOR_TYPES = ['TEMPERATURE', 'HUMIDITY', 'SHOCK', 'TILT', 'LIGHT'] as const;
export type SensorType = (typeof SENSOR_TYPES)[number];

export const SENSOR_UNITS = ['CEL', 'PERCENT', 'G', 'DEG', 'LUX'] as const;
export type SensorUnit = (typeof SENSOR_UNITS)[number];

/** A new string id, time-ordered like an ObjectId (so `_id` breaks sort ties in insertion order). */
export function newId(): string {
  return new Types.ObjectId().toHexString();
}

export interface DeviceDoc {
  _id: string;
  tenantId: string;
  kind: DeviceKind;
  model?: string | null;
  firmwareVersion?: string | null;
  status: DeviceStatus;
  lastSeenAt?: Date | null;
  createdAt: Date;
  /** Public JWK (EC P-256 or Ed25519) the device signs token assertions with; null: no key registered. */
  publicJwk?: Record<string, unknown> | null;
}

/** A token assertion already used (its `jti`), remembered until it expires: replays are refused. */
export interface UsedAssertionDoc {
  /** `<device id>:<jti>`. */
  _id: string;
  expiresAt: Date;
}

export interface ReadingDoc {
  _id: string;
  tenantId: string;
  deviceId: string;
  /** Idempotency key chosen by the device; unique per tenant and device. */
  clientReadingId: string;
  /** SHA-256 of the canonical payload: a repeat of the key must carry the same one. */
  payloadHash: string;
  shipmentId?: string | null;
  parcelBarcode?: string | null;
  recordedAt: Date;
  windowStartedAt?: Date | null;
  type: SensorType;
  value?: number | null;
  min?: number | null;
  max?: number | null;
  mean?: number | null;
  unit: SensorUnit;
  /** Compact JWS as received; kept for verification once device keys land. */
  jws?: string | null;
  verified: boolean;
  alarm: boolean;
  createdAt: Date;
}

/**
 * The id of a shipment ↔ device link, derived from its key: an upsert
 * filtering on it creates the link with this id (no `_id` in `$setOnInsert`).
 */
export function shipmentDeviceId(tenantId: string, shipmentId: string, deviceId: string): string {
  return createHash('sha256').update(JSON.stringify([tenantId, shipmentId, deviceId])).digest('hex').slice(0, 24);
}

/** A device attached to a shipment, by the seed/dispatch or by its first reading for it. */
export interface ShipmentDeviceDoc {
  _id: string;
  tenantId: string;
  shipmentId: string;
  deviceId: string;
  source: 'ATTACHED' | 'READING';
  attachedAt: Date;
}

const deviceSchema = new Schema<DeviceDoc>(
  {
    _id: { type: String, default: newId },
    tenantId: { type: String, required: true },
    kind: { type: String, enum: DEVICE_KINDS, required: true },
    model: { type: String, default: null },
    firmwareVersion: { type: String, default: null },
    status: { type: String, enum: DEVICE_STATUSES, required: true },
    lastSeenAt: { type: Date, default: null },
    createdAt: { type: Date, required: true },
    publicJwk: { type: Schema.Types.Mixed, default: null },
  },
  { collection: 'devices', versionKey: false },
);
// Tenant's device list, newest first (the `devices` connection's sort).
deviceSchema.index({ tenantId: 1, createdAt: -1, _id: -1 });

const readingSchema = new Schema<ReadingDoc>(
  {
    _id: { type: String, default: newId },
    tenantId: { type: String, required: true },
    deviceId: { type: String, required: true },
    clientReadingId: { type: String, required: true },
    payloadHash: { type: String, required: true },
    shipmentId: { type: String, default: null },
    parcelBarcode: { type: String, default: null },
    recordedAt: { type: Date, required: true },
    windowStartedAt: { type: Date, default: null },
    type: { type: String, enum: SENSOR_TYPES, required: true },
    value: { type: Number, default: null },
    min: { type: Number, default: null },
    max: { type: Number, default: null },
    mean: { type: Number, default: null },
    unit: { type: String, enum: SENSOR_UNITS, required: true },
    jws: { type: String, default: null },
    verified: { type: Boolean, required: true },
    alarm: { type: Boolean, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'readings', versionKey: false },
);
// Idempotency: one reading per (tenant, device, client key), enforced by the database.
readingSchema.index({ tenantId: 1, deviceId: 1, clientReadingId: 1 }, { unique: true });
// A shipment's readings, newest first (the `readings` connection's sort). Shipment ids are
// globally unique, so shipmentId leads: the same index serves tenant-scoped and system reads,
// and the tenant filter only drops readings a caller of another tenant filed under the id.
readingSchema.index({ shipmentId: 1, recordedAt: -1, _id: -1 });

const shipmentDeviceSchema = new Schema<ShipmentDeviceDoc>(
  {
    _id: { type: String, default: newId },
    tenantId: { type: String, required: true },
    shipmentId: { type: String, required: true },
    deviceId: { type: String, required: true },
    source: { type: String, enum: ['ATTACHED', 'READING'], required: true },
    attachedAt: { type: Date, required: true },
  },
  { collection: 'shipment_devices', versionKey: false },
);
shipmentDeviceSchema.index({ tenantId: 1, shipmentId: 1, deviceId: 1 }, { unique: true });
// Shipment-first lookups for unscoped (system) reads; scoped reads use the unique index.
shipmentDeviceSchema.index({ shipmentId: 1 });

const usedAssertionSchema = new Schema<UsedAssertionDoc>(
  {
    _id: { type: String, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'device_used_assertions', versionKey: false },
);
// Forgotten once expired: an expired assertion is refused on its `exp` anyway.
usedAssertionSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

export interface DeviceModels {
  Device: Model<DeviceDoc>;
  UsedAssertion: Model<UsedAssertionDoc>;
  SensorReading: Model<ReadingDoc>;
  ShipmentDevice: Model<ShipmentDeviceDoc>;
}

/**
 * Model names carry the subgraph's prefix: `npm start` runs every subgraph on
 * one connection, and another subgraph's model of the same name must never
 * be picked up by the `conn.models` lookup.
 */
export function createModels(conn: Connection): DeviceModels {
  const model = <T>(name: string, schema: Schema<T>): Model<T> => (conn.models[name] as Model<T> | undefined) ?? conn.model<T>(name, schema);
  return {
    Device: model('device.Device', deviceSchema),
    UsedAssertion: model('device.UsedAssertion', usedAssertionSchema),
    SensorReading: model('device.SensorReading', readingSchema),
    ShipmentDevice: model('device.ShipmentDevice', shipmentDeviceSchema),
  };
}

/** Resolves once every index above exists (the unique idempotency index must exist before the first write). */
export async function ensureIndexes(models: DeviceModels): Promise<void> {
  await Promise.all([models.Device.init(), models.SensorReading.init(), models.ShipmentDevice.init(), models.UsedAssertion.init()]);
}
