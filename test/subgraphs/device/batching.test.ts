import { demoPlan } from '../../../lib/demo';
import { seed } from '../../../subgraphs/device/server';
import { adminOf, partnerOf, startKit, SYSTEM, type Kit } from './kit';

const plan = demoPlan();
const [tenantA, tenantB] = plan.tenants.map((t) => t.id);
const reps = plan.shipments.map((s) => ({ __typename: 'Shipment', id: s.id }));

const EVERYTHING = /* GraphQL */ `
  query ($reps: [_Any!]!) {
    _entities(representations: $reps) {
      ... on Shipment {
        id
        devices { id tenantId kind status lastSeenAt }
        readings(first: 3) { totalCount edges { cursor node { id deviceId shipmentId value recordedAt type unit verified alarm } } pageInfo { hasNextPage endCursor } }
        latestReading { id value recordedAt }
      }
    }
  }
`;

let kit: Kit;

beforeAll(async () => {
  kit = await startKit();
  await seed(kit.stores.forRegion(), plan);
});
afterAll(() => kit.close());

describe('the N+1 guard: 50 shipments with devices, readings and latest reading', () => {
  it.each([
    ['tenant A', adminOf(tenantA)],
    ['the system', SYSTEM],
  ])('runs one query per collection for %s', async (_who, principal) => {
    kit.devdb.resetStats();
    const r = await kit.gql(EVERYTHING, { reps }, principal);
    expect(r.errors).toBeUndefined();
    expect(kit.devdb.stats().byCollection).toEqual({ 'find:shipment_devices': 1, 'find:devices': 1, 'aggregate:readings': 1 });

    const visible = plan.shipments.filter((s) => principal.kind === 'system' || s.tenantId === tenantA);
    for (const [i, s] of plan.shipments.entries()) {
      const got = r.data!._entities[i];
      expect(got.id).toBe(s.id);
      if (!visible.includes(s)) {
        expect(got).toEqual({ id: s.id, devices: [], readings: { totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } }, latestReading: null });
        continue;
      }
      expect(got.devices.map((d: any) => d.id)).toEqual(s.deviceIds);
      expect(got.devices.every((d: any) => d.tenantId === s.tenantId && d.status === 'ACTIVE')).toBe(true);
      expect(got.readings.totalCount).toBeGreaterThanOrEqual(4);
      expect(got.readings.edges).toHaveLength(3);
      expect(got.readings.pageInfo.hasNextPage).toBe(true);
      const times = got.readings.edges.map((e: any) => e.node.recordedAt);
      expect([...times].sort().reverse()).toEqual(times);
      expect(got.latestReading).toEqual({ id: got.readings.edges[0].node.id, value: got.readings.edges[0].node.value, recordedAt: times[0] });
    }
  });

  it('runs one aggregate per distinct cursor when pages continue', async () => {
    const first = await kit.gql(EVERYTHING, { reps: reps.slice(0, 2) }, adminOf(tenantA));
    const cursor = first.data!._entities[0].readings.pageInfo.endCursor;
    const q = /* GraphQL */ `
      query ($reps: [_Any!]!, $after: String) {
        _entities(representations: $reps) { ... on Shipment { readings(first: 3, after: $after) { totalCount edges { node { id } } } latestReading { id } } }
      }
    `;
    kit.devdb.resetStats();
    const next = await kit.gql(q, { reps: reps.slice(0, 1), after: cursor }, adminOf(tenantA));
    expect(kit.devdb.stats().byCollection).toEqual({ 'aggregate:readings': 2 });
    const s = next.data!._entities[0];
    const total = first.data!._entities[0].readings.totalCount;
    expect(s.readings.totalCount).toBe(total);
    expect(s.readings.edges).toHaveLength(Math.min(3, total - 3));
    const firstIds = first.data!._entities[0].readings.edges.map((e: any) => e.node.id);
    expect(s.readings.edges.some((e: any) => firstIds.includes(e.node.id))).toBe(false);
    expect(s.latestReading.id).toBe(firstIds[0]);
  });
});

describe('seed', () => {
  it('seeds the plan’s devices as ACTIVE, attached to their shipments, with temperature readings and some excursions', async () => {
    const devices = await kit.gql('{ devices(first: 100) { totalCount edges { node { status kind } } } }', {}, adminOf(tenantB));
    expect(devices.data!.devices.totalCount).toBe(plan.devices.filter((d) => d.tenantId === tenantB).length);
    expect(devices.data!.devices.edges.every((e: any) => e.node.status === 'ACTIVE')).toBe(true);
    expect(await kit.models.ShipmentDevice.countDocuments({})).toBe(plan.shipments.reduce((n, s) => n + s.deviceIds.length, 0));
    const values = (await kit.models.SensorReading.find({}).lean()).map((r) => r.value!);
    expect(values.length).toBeGreaterThanOrEqual(4 * plan.shipments.length);
    const outside = values.filter((v) => v < 2 || v > 8);
    expect(outside.length).toBeGreaterThan(0);
    expect(outside.length).toBeLessThan(values.length / 10);
  });

  it('is idempotent: a second run writes nothing, a partial state is completed without duplicates', async () => {
    const count = async () => [await kit.models.Device.countDocuments({}), await kit.models.ShipmentDevice.countDocuments({}), await kit.models.SensorReading.countDocuments({})];
    const before = await count();
    kit.devdb.resetStats();
    await seed(kit.stores.forRegion(), plan);
    const writes = Object.keys(kit.devdb.stats().byCollection).filter((k) => /^(insert|update|delete|findAndModify):/.test(k));
    expect(writes).toEqual([]);
    expect(await count()).toEqual(before);

    const last = plan.shipments[plan.shipments.length - 1];
    await kit.models.SensorReading.deleteMany({ shipmentId: last.id });
    await seed(kit.stores.forRegion(), plan);
    expect(await count()).toEqual(before);
  });

  it('uses the same idempotency keys as the live path: replaying a seeded reading returns it', async () => {
    const seeded = (await kit.models.SensorReading.findOne({ tenantId: tenantA }).lean())!;
    kit.clock.now = new Date();
    const replay = await kit.gql(
      `mutation ($input: RecordSensorReadingInput!) { recordSensorReading(input: $input) { id } }`,
      { input: { deviceId: seeded.deviceId, clientReadingId: seeded.clientReadingId, shipmentId: seeded.shipmentId, recordedAt: seeded.recordedAt.toISOString(), type: 'TEMPERATURE', value: seeded.value, unit: 'CEL' } },
      partnerOf(tenantA),
    );
    expect(replay.errors).toBeUndefined();
    expect(replay.data!.recordSensorReading.id).toBe(seeded._id);
  });
});
