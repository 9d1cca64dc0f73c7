/**
 * Business rules of devices: registration, the tenant's device list and the
 * devices attached to shipments. Plain functions over the models; every
 * read takes the request's `DataScope` and filters by tenant in the query
 * itself. No GraphQL types here.
 */
import { trusted } from 'mongoose';
import type { AuditSink } from '../../lib/audit';
import { type TenantCaller, tenantFilter } from '../../lib/caller';
import type { DataScope } from '../../lib/context';
import { BadUserInputError } from '../../lib/errors';
import { type Connection, type CursorPosition, type PageRequest, toConnection } from '../../lib/pagination';
import type { DeviceDoc, DeviceKind, DeviceModels, DeviceStatus, ReadingDoc, SensorType, SensorUnit } from './model';
import { DEVICE_KINDS, newId } from './model';

export interface Device {
  id: string;
  tenantId: string;
  kind: DeviceKind;
  model: string | null;
  firmwareVersion: string | null;
  status: DeviceStatus;
  lastSeenAt: Date | null;
  createdAt: Date;
}

export interface SensorReading {
  id: string;
  deviceId: string;
  shipmentId: string | null;
  parcelBarcode: string | null;
  recordedAt: Date;
  windowStartedAt: Date | null;
  type: SensorType;
  value: number | null;
  min: number | null;
  max: number | null;
  mean: number | null;
  unit: SensorUnit;
  verified: boolean;
  alarm: boolean;
}

/**
 * What a write needs besides its input: who writes (a caller of one tenant:
 * tenant-owned data is created in its tenant, never in one named by the
 * input; see `tenantCallerOf`), where to audit, the request id, the clock.
 * Device audit records name the caller by its bare id (a device token's id
 * is the device's), not by lib/caller's `actorOf`.
 */
export interface WriteContext {
  caller: TenantCaller;
  audit: AuditSink;
  requestId: string;
  now: () => Date;
}

export function toDevice(doc: DeviceDoc): Device {
  return {
    id: doc._id,
    tenantId: doc.tenantId,
    kind: doc.kind,
    model: doc.model ?? null,
    firmwareVersion: doc.firmwareVersion ?? null,
    status: doc.status,
    lastSeenAt: doc.lastSeenAt ?? null,
    createdAt: doc.createdAt,
  };
}

/** What a device reports about one reading, as stored or as sent (absent optional fields may be undefined). */
export type ReportedFields = Pick<ReadingDoc, 'deviceId' | 'shipmentId' | 'parcelBarcode' | 'recordedAt' | 'windowStartedAt' | 'type' | 'value' | 'min' | 'max' | 'mean' | 'unit'>;

/** The reported fields of a reading as callers see them: absent optional ones are null. Shared by `toReading` and the alarm rule's candidate. */
export function reportedFields(src: ReportedFields): Omit<SensorReading, 'id' | 'verified' | 'alarm'> {
  return {
    deviceId: src.deviceId,
    shipmentId: src.shipmentId ?? null,
    parcelBarcode: src.parcelBarcode ?? null,
    recordedAt: new Date(src.recordedAt),
    windowStartedAt: src.windowStartedAt ? new Date(src.windowStartedAt) : null,
    type: src.type,
    value: src.value ?? null,
    min: src.min ?? null,
    max: src.max ?? null,
    mean: src.mean ?? null,
    unit: src.unit,
  };
}

export function toReading(doc: ReadingDoc): SensorReading {
  return { id: doc._id, ...reportedFields(doc), verified: doc.verified, alarm: doc.alarm };
}

/** A cursor over a date-sorted list: its sort value must be epoch milliseconds. */
export function dateCursor(after: CursorPosition): { at: Date; id: string } {
  const at = typeof after.k === 'number' ? new Date(after.k) : new Date(NaN);
  if (Number.isNaN(at.getTime())) throw new BadUserInputError('after is not a valid cursor', { argument: 'after' });
  return { at, id: after.id };
}

export interface RegisterDeviceInput {
  kind: DeviceKind;
  model?: string | null;
  firmwareVersion?: string | null;
}

function optionalText(value: string | null | undefined, max: number, argument: string): string | null {
  const text = value?.trim();
  if (!text) return null;
  if (text.length > max) throw new BadUserInputError(`${argument} is longer than ${max} characters`, { argument });
  return text;
}

/** Registers a device in the caller's tenant, PENDING until its credential is activated (SDL: RegisterDeviceInput). */
export async function registerDevice(models: DeviceModels, ctx: WriteContext, input: RegisterDeviceInput): Promise<Device> {
  if (!DEVICE_KINDS.includes(input.kind)) throw new BadUserInputError('unknown device kind', { argument: 'input.kind' });
  const doc: DeviceDoc = {
    _id: newId(),
    tenantId: ctx.caller.tenantId,
    kind: input.kind,
    model: optionalText(input.model, 128, 'input.model'),
    firmwareVersion: optionalText(input.firmwareVersion, 64, 'input.firmwareVersion'),
    status: 'PENDING',
    lastSeenAt: null,
    createdAt: ctx.now(),
  };
  await models.Device.create(doc);
  await ctx.audit.record({
    type: 'device.registered',
    actor: ctx.caller.id,
    tenantId: doc.tenantId,
    target: `Device:${doc._id}`,
    requestId: ctx.requestId,
    details: { kind: doc.kind, status: doc.status },
  });
  return toDevice(doc);
}

/** The scope's devices, newest first (createdAt, then id), one page. */
export async function listDevices(models: DeviceModels, scope: DataScope, page: PageRequest): Promise<Connection<Device>> {
  const base = tenantFilter(scope);
  const after = page.after && dateCursor(page.after);
  const filter = after ? { ...base, $or: [{ createdAt: trusted({ $lt: after.at }) }, { createdAt: after.at, _id: trusted({ $lt: after.id }) }] } : base;
  // first + 1 items (never limit(0), which means no limit): the extra one says whether a next page exists.
  const [docs, totalCount] = await Promise.all([
    models.Device.find(filter).sort({ createdAt: -1, _id: -1 }).limit(page.first + 1).lean<DeviceDoc[]>(),
    models.Device.countDocuments(base),
  ]);
  return toConnection(docs.map(toDevice), page.first, (d) => ({ k: d.createdAt.getTime(), id: d.id }), totalCount);
}

/** Devices by id within the scope, in the order asked; null where missing or of another tenant. */
export async function devicesByIds(models: DeviceModels, scope: DataScope, ids: readonly string[]): Promise<Array<Device | null>> {
  const docs = await models.Device.find({ ...tenantFilter(scope), _id: trusted({ $in: [...new Set(ids)] }) }).lean<DeviceDoc[]>();
  const byId = new Map(docs.map((d) => [d._id, toDevice(d)]));
  return ids.map((id) => byId.get(id) ?? null);
}

/** Ids of the devices attached to each shipment (oldest attachment first), in one query for all shipments. */
export async function deviceIdsByShipments(models: DeviceModels, scope: DataScope, shipmentIds: readonly string[]): Promise<string[][]> {
  const links = await models.ShipmentDevice.find({ ...tenantFilter(scope), shipmentId: trusted({ $in: [...new Set(shipmentIds)] }) })
    .sort({ attachedAt: 1, _id: 1 })
    .lean();
  const byShipment = new Map<string, string[]>();
  for (const link of links) {
    const list = byShipment.get(link.shipmentId) ?? [];
    if (!list.includes(link.deviceId)) list.push(link.deviceId);
    byShipment.set(link.shipmentId, list);
  }
  return shipmentIds.map((id) => byShipment.get(id) ?? []);
}
