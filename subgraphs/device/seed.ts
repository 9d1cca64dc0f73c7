/**
 * Demo data for `npm start`: the plan's devices (ACTIVE), each shipment's
 * attached devices, and a handful of TEMPERATURE readings per shipment
 * (2–8 °C, an excursion here and there). Ids and idempotency keys are
 * derived from the plan, and every write is an upsert, so seeding twice
 * changes nothing.
 *
 * Sensor tags get a development key pair (lib/demo-credentials.ts): the
 * public key is stored (filled in where missing), the private key is only
 * derivable, so a demo or test can sign token assertions as the tag.
 */
import { createHash } from 'node:crypto';
import { trusted, type Connection } from 'mongoose';
import type { DemoPlan } from '../../lib/demo';
import { demoDeviceKey } from '../../lib/demo-credentials';
import { type DeviceDoc, type ReadingDoc, type ShipmentDeviceDoc, createModels, ensureIndexes, shipmentDeviceId } from './model';
import { payloadHash } from './readings';

const HOUR = 3_600_000;
const READING_INTERVAL = 2 * HOUR;

function stableId(...parts: Array<string | number>): string {
  return createHash('sha256').update(`tracksafe-demo:${parts.join(':')}`).digest('hex').slice(0, 24);
}

/** A deterministic number in [0, 1) for a label. */
function unit(label: string): number {
  return createHash('sha256').update(label).digest().readUInt32BE(0) / 2 ** 32;
}

/** Key of the n-th seeded reading of a shipment: the same on every run, so reseeding is idempotent. */
export const seedReadingKey = (shipmentId: string, n: number): string => `seed:${shipmentId}:${n}`;

function temperature(shipmentIndex: number, n: number, shipmentId: string): number {
  // An excursion in about one shipment of seven: one warm reading above 8 °C.
  if (shipmentIndex % 7 === 3 && n === 2) return 9.4;
  if (shipmentIndex % 11 === 5 && n === 1) return 1.2;
  return Math.round((2.5 + unit(`${shipmentId}:${n}`) * 5) * 10) / 10;
}

export async function seed(conn: Connection, plan: DemoPlan): Promise<void> {
  const models = createModels(conn);
  await ensureIndexes(models);
  // Databases seeded before device keys existed get them; a fresh one gets them with the devices below.
  const tags = plan.devices.filter((x) => x.kind === 'SENSOR_TAG').map((d) => d.id);
  const keyless = await models.Device.find({ _id: trusted({ $in: tags }), publicJwk: null }, { _id: 1 }).lean<Array<{ _id: string }>>();
  for (const d of keyless) await models.Device.updateOne({ _id: d._id }, { $set: { publicJwk: demoDeviceKey(d._id).publicJwk } });
  const anchor = Math.floor(Date.now() / HOUR) * HOUR;
  const kinds = new Map(plan.devices.map((d) => [d.id, d.kind]));

  const readings: ReadingDoc[] = [];
  const links: ShipmentDeviceDoc[] = [];
  const lastSeen = new Map<string, number>();
  plan.shipments.forEach((shipment, i) => {
    const count = 4 + (i % 4);
    const start = anchor - count * READING_INTERVAL - (i % 60) * 60_000;
    for (const deviceId of shipment.deviceIds) {
      links.push({ _id: shipmentDeviceId(shipment.tenantId, shipment.id, deviceId), tenantId: shipment.tenantId, shipmentId: shipment.id, deviceId, source: 'ATTACHED', attachedAt: new Date(start - HOUR) });
    }
    const tag = shipment.deviceIds.find((id) => kinds.get(id) === 'SENSOR_TAG');
    if (!tag) return;
    for (let n = 0; n < count; n++) {
      const input = {
        deviceId: tag,
        clientReadingId: seedReadingKey(shipment.id, n),
        shipmentId: shipment.id,
        recordedAt: new Date(start + n * READING_INTERVAL),
        type: 'TEMPERATURE' as const,
        value: temperature(i, n, shipment.id),
        unit: 'CEL' as const,
      };
      readings.push({
        ...input,
        _id: stableId('reading', shipment.id, n),
        tenantId: shipment.tenantId,
        payloadHash: payloadHash(input),
        parcelBarcode: null,
        windowStartedAt: null,
        min: null,
        max: null,
        mean: null,
        jws: null,
        verified: false,
        // Same as the live path: alarms wait for the parcel's temperature profile.
        alarm: false,
        createdAt: input.recordedAt,
      });
      lastSeen.set(tag, Math.max(lastSeen.get(tag) ?? 0, input.recordedAt.getTime()));
    }
  });

  // The last reading is written last: when it exists, everything before it does.
  const last = readings[readings.length - 1];
  if (last && (await models.SensorReading.exists({ tenantId: last.tenantId, deviceId: last.deviceId, clientReadingId: last.clientReadingId }))) return;

  const devices: DeviceDoc[] = plan.devices.map((d, i) => ({
    _id: d.id,
    tenantId: d.tenantId,
    kind: d.kind,
    model: d.model,
    firmwareVersion: d.kind === 'SENSOR_TAG' ? '1.8.4' : '3.2.0',
    status: 'ACTIVE',
    lastSeenAt: new Date(lastSeen.get(d.id) ?? anchor - (i + 1) * HOUR),
    createdAt: new Date(anchor - 60 * 24 * HOUR + i * 60_000),
    publicJwk: d.kind === 'SENSOR_TAG' ? demoDeviceKey(d.id).publicJwk : null,
  }));
  // Upserts keyed by _id alone, so `$setOnInsert` never carries the _id.
  const upserts = <T extends { _id: string }>(docs: T[]) =>
    docs.map(({ _id, ...rest }) => ({ updateOne: { filter: { _id }, update: { $setOnInsert: rest }, upsert: true } }));
  if (devices.length) await models.Device.bulkWrite(upserts(devices) as never);
  if (links.length) await models.ShipmentDevice.bulkWrite(upserts(links) as never);
  if (readings.length) await models.SensorReading.bulkWrite(upserts(readings) as never);
}
