/**
 * The shipment seed: the demo plan's 50 shipments with believable,
 * obviously fake journeys; deterministic, idempotent, and consistent with
 * the status machine.
 */
import { randomBytes } from 'node:crypto';
import { startDevDb, type DevDb } from '../../../devdb';
import { connectDataStores, type DataStores } from '../../../lib/db';
import { demoPlan } from '../../../lib/demo';
import { testFieldCrypto } from '../../kit/crypto';
import { createModels, type ShipmentModels } from '../../../subgraphs/shipment/model';
import { demoTrackingLinks, seed } from '../../../subgraphs/shipment/seed';
import { demoShipmentData } from '../../../subgraphs/shipment/seed-data';
import { replay } from '../../../subgraphs/shipment/status';
import { demoTrackingToken, hashTrackingToken } from '../../../subgraphs/shipment/tokens';

const plan = demoPlan();
const anchor = new Date('2026-06-01T00:00:00Z');
let devdb: DevDb;
let stores: DataStores;
let models: ShipmentModels;

beforeAll(async () => {
  devdb = await startDevDb({ port: 0 });
  stores = await connectDataStores(devdb.uri, `test_shipment_seed_${randomBytes(4).toString('hex')}`, testFieldCrypto());
  models = createModels(stores.forRegion());
  await seed(stores.forRegion(), plan, { anchor });
}, 30_000);

afterAll(async () => {
  await stores?.close();
  await devdb?.stop();
});

const counts = async () => ({
  shipments: await models.Shipment.countDocuments().exec(),
  events: await models.TrackingEvent.countDocuments().exec(),
  claims: await models.TrackingNumberClaim.countDocuments().exec(),
});

describe('seed', () => {
  test('stores the 50 plan shipments with the plan’s ids, tenants, regions, carriers, numbers and subjects', async () => {
    const docs = await models.Shipment.find().lean().exec();
    expect(docs).toHaveLength(50);
    const byId = new Map(docs.map((d) => [d._id, d]));
    for (const s of plan.shipments) {
      expect(byId.get(s.id)).toMatchObject({ tenantId: s.tenantId, region: s.region, carrier: s.carrier, trackingNumber: s.trackingNumber, recipientSubjectId: s.recipientSubjectId });
    }
  });

  test('gives every shipment 3 to 8 events, all before the anchor', async () => {
    const events = await models.TrackingEvent.find().lean().exec();
    for (const s of plan.shipments) {
      const mine = events.filter((e) => e.shipmentId === s.id);
      expect(mine.length).toBeGreaterThanOrEqual(3);
      expect(mine.length).toBeLessThanOrEqual(8);
      expect(mine.every((e) => e.tenantId === s.tenantId && e.occurredAt <= anchor && e.recordedAt >= e.occurredAt)).toBe(true);
    }
  });

  test('statuses follow the status machine over the events in arrival order, late scans included', async () => {
    const docs = await models.Shipment.find().lean().exec();
    const events = await models.TrackingEvent.find().lean().exec();
    let lateScans = 0;
    for (const d of docs) {
      const mine = events.filter((e) => e.shipmentId === d._id).sort((a, b) => a.recordedAt.getTime() - b.recordedAt.getTime());
      const { state, applied } = replay(mine);
      expect({ id: d._id, status: d.status, rank: d.progressRank }).toEqual({ id: d._id, status: state.status, rank: state.progressRank });
      expect(mine.map((e) => e.statusApplied)).toEqual(applied);
      lateScans += applied.filter((a) => !a).length;
    }
    expect(lateScans).toBeGreaterThan(0);
    expect(new Set(docs.map((d) => d.status))).toEqual(new Set(['IN_TRANSIT', 'DELIVERED', 'OUT_FOR_DELIVERY', 'EXCEPTION', 'AVAILABLE_FOR_PICKUP', 'RETURN_TO_SENDER']));
  });

  test('delivered shipments carry a successful proof of delivery from a tenant scanner', async () => {
    const delivered = await models.Shipment.find({ status: 'DELIVERED' }).lean().exec();
    expect(delivered.length).toBeGreaterThan(0);
    for (const d of delivered) {
      expect(d.proofOfDelivery).toMatchObject({ outcome: 'SUCCEEDED', signerName: expect.stringMatching(/^Demo Signer/) });
      const scanner = plan.devices.find((x) => x.id === d.proofOfDelivery!.deviceId);
      expect(scanner).toMatchObject({ tenantId: d.tenantId, kind: 'SCANNER' });
    }
  });

  test('people are obviously made up; some parcels are cold chain at 2–8 °C; some shipments cross borders', async () => {
    const docs = await models.Shipment.find().lean().exec();
    for (const d of docs) {
      expect(d.recipient!.name).toMatch(/^Demo Recipient \d+$/);
      expect(d.recipient!.email).toMatch(/@example\.com$/);
      expect(d.recipient!.phone).toMatch(/^\+1555\d{7}$/);
    }
    const cold = docs.flatMap((d) => d.parcels).filter((p) => p.temperatureProfile);
    expect(cold.length).toBeGreaterThan(0);
    expect(cold.every((p) => p.temperatureProfile!.min === 2 && p.temperatureProfile!.max === 8 && p.temperatureProfile!.unit === 'CEL')).toBe(true);
    const customs = docs.filter((d) => d.customs);
    expect(customs.length).toBeGreaterThan(0);
    expect(customs.every((d) => Number.isInteger(d.customs!.declaredValue) && d.destination.countryIso3 !== d.origin.countryIso3)).toBe(true);
  });

  test('stores the demo tokens only as hashes', async () => {
    const d = await models.Shipment.findById(plan.shipments[0].id).lean().exec();
    expect(d!.publicTokenHash).toBe(hashTrackingToken(demoTrackingToken(plan.shipments[0].id)));
  });

  test('is idempotent: a second run changes nothing', async () => {
    const before = await counts();
    const snapshot = await models.Shipment.find().sort({ _id: 1 }).lean().exec();
    await seed(stores.forRegion(), plan, { anchor: new Date('2027-01-01T00:00:00Z') });
    expect(await counts()).toEqual(before);
    expect(await models.Shipment.find().sort({ _id: 1 }).lean().exec()).toEqual(snapshot);
    expect(before).toEqual({ shipments: 50, events: expect.any(Number), claims: 50 });
  });

  test('completes a run that was cut short, without duplicating anything', async () => {
    const before = await counts();
    const victim = plan.shipments[10].id;
    await models.Shipment.deleteOne({ _id: victim }).exec();
    await models.TrackingEvent.deleteMany({ shipmentId: victim }).exec();
    await seed(stores.forRegion(), plan, { anchor });
    expect(await counts()).toEqual(before);
  });

  test('generates the same documents for the same plan and anchor', () => {
    expect(demoShipmentData(plan, anchor)).toEqual(demoShipmentData(demoPlan(), anchor));
  });

  test('names three demo shipments in different states with their tracking numbers and tokens', () => {
    const links = demoTrackingLinks(plan);
    expect(links).toHaveLength(3);
    expect(new Set(links.map((l) => l.status)).size).toBe(3);
    for (const l of links) {
      const s = plan.shipments.find((x) => x.id === l.shipmentId)!;
      expect(l).toMatchObject({ trackingNumber: s.trackingNumber, carrier: s.carrier, token: demoTrackingToken(s.id) });
    }
  });
});
