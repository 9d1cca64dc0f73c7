/**
 * Business rules of recording a sensor reading: validation, the reporter
 * and device-status checks, idempotency on the client's key, the shipment
 * link and the audit trail. Plain functions over the models.
 */
import { createHash } from 'node:crypto';
import { trusted } from 'mongoose';
import { isDuplicateKey } from '../../lib/errors';
import { DeviceNotFoundError, DeviceRefusedError, IdempotencyKeyReusedError, InvalidReadingError, ReporterNotAllowedError } from './errors';
import type { DeviceDoc, DeviceModels, ReadingDoc, SensorType, SensorUnit } from './model';
import { newId, shipmentDeviceId } from './model';
import { type SensorReading, type WriteContext, reportedFields, toReading } from './service';

/** What a device sends (SDL: RecordSensorReadingInput): a stored reading without the fields the server sets. */
export type RecordSensorReadingInput = Omit<ReadingDoc, '_id' | 'tenantId' | 'payloadHash' | 'verified' | 'alarm' | 'createdAt'>;

/** The reading about to be stored, as the alarm rule sees it. */
export type ReadingCandidate = Omit<SensorReading, 'id' | 'verified' | 'alarm'> & { tenantId: string };

/**
 * Decides `alarm` for a new reading. Called once per new reading, before it
 * is stored; throwing fails the mutation (nothing is stored).
 */
export type AlarmRule = (reading: ReadingCandidate) => boolean | Promise<boolean>;

/**
 * No alarm until the parcel's temperature profile is reachable from here
 * (it lives in the shipment subgraph).
 */
export const noAlarm: AlarmRule = () => false;

/** The unit each sensor type reports in. */
const UNIT_OF: Record<SensorType, SensorUnit> = { TEMPERATURE: 'CEL', HUMIDITY: 'PERCENT', SHOCK: 'G', TILT: 'DEG', LIGHT: 'LUX' };

/** How far in the future `recordedAt` may lie (device clock drift). */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const MAX_JWS_LENGTH = 16 * 1024;

function checkText(value: string | null | undefined, max: number, argument: string, required = false): void {
  if (value === null || value === undefined) {
    if (required) throw new InvalidReadingError(`${argument} is required`, argument);
    return;
  }
  if (value.length < 1 || value.length > max) throw new InvalidReadingError(`${argument} must be 1 to ${max} characters`, argument);
}

/** Refuses malformed readings before anything is read or written. */
export function validateReading(input: RecordSensorReadingInput, now: Date): void {
  checkText(input.deviceId, 64, 'input.deviceId', true);
  checkText(input.clientReadingId, 255, 'input.clientReadingId', true);
  checkText(input.shipmentId, 64, 'input.shipmentId');
  checkText(input.parcelBarcode, 128, 'input.parcelBarcode');
  if (input.jws != null && input.jws.length > MAX_JWS_LENGTH) throw new InvalidReadingError(`input.jws is longer than ${MAX_JWS_LENGTH} characters`, 'input.jws');
  if (UNIT_OF[input.type] !== input.unit) throw new InvalidReadingError(`a ${input.type} reading is reported in ${UNIT_OF[input.type]}`, 'input.unit');
  if (input.value == null && input.min == null && input.max == null && input.mean == null) {
    throw new InvalidReadingError('a reading needs a value or an aggregate (min, max, mean)', 'input.value');
  }
  if (input.min != null && input.max != null && input.min > input.max) throw new InvalidReadingError('min is greater than max', 'input.min');
  if (input.mean != null && ((input.min != null && input.mean < input.min) || (input.max != null && input.mean > input.max))) {
    throw new InvalidReadingError('mean lies outside min..max', 'input.mean');
  }
  if (input.recordedAt.getTime() > now.getTime() + MAX_CLOCK_SKEW_MS) throw new InvalidReadingError('recordedAt is in the future', 'input.recordedAt');
  if (input.windowStartedAt && input.windowStartedAt.getTime() > input.recordedAt.getTime()) {
    throw new InvalidReadingError('windowStartedAt is after recordedAt', 'input.windowStartedAt');
  }
}

/** SHA-256 over the payload in a fixed field order: a repeat of the idempotency key must carry the same payload. */
export function payloadHash(input: RecordSensorReadingInput): string {
  const canonical = [
    input.deviceId,
    input.clientReadingId,
    input.shipmentId ?? null,
    input.parcelBarcode ?? null,
    input.recordedAt.toISOString(),
    input.windowStartedAt?.toISOString() ?? null,
    input.type,
    input.value ?? null,
    input.min ?? null,
    input.max ?? null,
    input.mean ?? null,
    input.unit,
    input.jws ?? null,
  ];
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

/**
 * A device principal (role DEVICE without PARTNER) may report for itself, or
 * relay as an ACTIVE gateway of the same tenant (SDL: RecordSensorReadingInput).
 */
function checkReporter(ctx: WriteContext, device: DeviceDoc, reporter: DeviceDoc | undefined): void {
  const { roles, id } = ctx.caller;
  if (!roles.includes('DEVICE') || roles.includes('PARTNER')) return;
  if (id === device._id) return;
  if (reporter?.kind === 'GATEWAY' && reporter.status === 'ACTIVE') return;
  throw new ReporterNotAllowedError();
}

export interface RecordDeps {
  alarmRule: AlarmRule;
}

/**
 * Records a reading idempotently on (tenant, device, clientReadingId): a
 * repeat with the same payload returns the first reading, a different
 * payload is a CONFLICT. The device must be in the caller's tenant and
 * neither QUARANTINED nor RETIRED; each accepted call moves its `lastSeenAt`.
 * `verified` stays false until device keys land: the JWS is stored as given.
 */
export async function recordSensorReading(models: DeviceModels, ctx: WriteContext, deps: RecordDeps, input: RecordSensorReadingInput): Promise<SensorReading> {
  const now = ctx.now();
  validateReading(input, now);
  const { tenantId, id: principalId } = ctx.caller;
  const ids = [...new Set([input.deviceId, principalId])];
  const devices = await models.Device.find({ tenantId, _id: trusted({ $in: ids }) }).lean<DeviceDoc[]>();
  const device = devices.find((d) => d._id === input.deviceId);
  if (!device) throw new DeviceNotFoundError();
  checkReporter(ctx, device, devices.find((d) => d._id === principalId));
  if (device.status === 'QUARANTINED' || device.status === 'RETIRED') {
    await refused(ctx, device._id, device.status === 'QUARANTINED' ? 'DEVICE_QUARANTINED' : 'DEVICE_RETIRED');
    throw new DeviceRefusedError(device.status);
  }

  const hash = payloadHash(input);
  const candidate: ReadingCandidate = { tenantId, ...reportedFields({ ...input, deviceId: device._id }) };
  const doc: ReadingDoc = {
    ...candidate,
    _id: newId(),
    clientReadingId: input.clientReadingId,
    payloadHash: hash,
    jws: input.jws ?? null,
    // TODO(devices issue): verify the JWS against the device's ACTIVE credential.
    verified: false,
    alarm: await deps.alarmRule(candidate),
    createdAt: now,
  };

  // Insert first: the unique index decides between a new reading and a repeat, also under concurrent retries.
  let created = true;
  try {
    await models.SensorReading.create(doc);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    created = false;
  }
  const touch = models.Device.updateOne({ _id: device._id, tenantId }, { $max: { lastSeenAt: now } });
  if (!created) {
    const first = await models.SensorReading.findOne({ tenantId, deviceId: device._id, clientReadingId: input.clientReadingId }).lean<ReadingDoc>();
    if (!first) throw new Error('reading vanished after a duplicate-key error');
    if (first.payloadHash !== hash) {
      await Promise.all([touch, refused(ctx, device._id, IdempotencyKeyReusedError.reason)]);
      throw new IdempotencyKeyReusedError('clientReadingId', { argument: 'input.clientReadingId' });
    }
    await touch;
    return toReading(first);
  }

  await Promise.all([
    touch,
    doc.shipmentId ? attach(models, tenantId, doc.shipmentId, device._id, now) : undefined,
    ctx.audit.record({
      type: 'sensor_reading.recorded',
      actor: principalId,
      tenantId,
      target: `SensorReading:${doc._id}`,
      requestId: ctx.requestId,
      details: { deviceId: device._id, shipmentId: doc.shipmentId, type: doc.type, verified: doc.verified, alarm: doc.alarm },
    }),
  ]);
  return toReading(doc);
}

/** Links the device to the shipment on its first reading for it; a concurrent link is as good as ours. */
async function attach(models: DeviceModels, tenantId: string, shipmentId: string, deviceId: string, now: Date): Promise<void> {
  try {
    await models.ShipmentDevice.updateOne(
      { _id: shipmentDeviceId(tenantId, shipmentId, deviceId), tenantId, shipmentId, deviceId },
      { $setOnInsert: { source: 'READING', attachedAt: now } },
      { upsert: true },
    );
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
}

async function refused(ctx: WriteContext, deviceId: string, reason: string): Promise<void> {
  await ctx.audit.record({
    type: 'sensor_reading.refused',
    actor: ctx.caller.id,
    tenantId: ctx.caller.tenantId,
    target: `Device:${deviceId}`,
    requestId: ctx.requestId,
    details: { reason },
  });
}
