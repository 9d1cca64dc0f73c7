import type { DeviceStatus } from '../../../subgraphs/device/model';
import { adminOf, codes, deviceOf, partnerOf, reasons, startKit, SYSTEM, TENANT_A, TENANT_B, type GqlResult, type Kit } from './kit';

const RECORD = /* GraphQL */ `
  mutation ($input: RecordSensorReadingInput!) {
    recordSensorReading(input: $input) {
      id deviceId shipmentId parcelBarcode recordedAt windowStartedAt type value min max mean unit verified alarm
    }
  }
`;
const SHIPMENTS = /* GraphQL */ `
  query ($reps: [_Any!]!, $first: Int, $after: String) {
    _entities(representations: $reps) {
      ... on Shipment {
        id
        devices { id kind }
        readings(first: $first, after: $after) { totalCount edges { cursor node { id value recordedAt } } pageInfo { hasNextPage endCursor } }
        latestReading { id value recordedAt }
      }
    }
  }
`;
const DEVICE = /* GraphQL */ `query ($id: ID!) { device(id: $id) { lastSeenAt } }`;

const SHIP_A = 'shipaaaaaaaaaaaaaaaaaaa1';
const SHIP_A2 = 'shipaaaaaaaaaaaaaaaaaaa2';
const ship = (...ids: string[]) => ids.map((id) => ({ __typename: 'Shipment', id }));

let kit: Kit;
let seq = 0;

/** A device inserted straight into the store, as a later issue's activation flow would leave it. */
async function device(tenantId: string, status: DeviceStatus = 'ACTIVE', kind: 'SENSOR_TAG' | 'GATEWAY' = 'SENSOR_TAG'): Promise<string> {
  const id = `dev${String(++seq).padStart(21, '0')}`;
  await kit.models.Device.create({ _id: id, tenantId, kind, status, model: 'TempTag T2', createdAt: kit.clock.now });
  return id;
}

const reading = (deviceId: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  deviceId,
  clientReadingId: `r-${++seq}`,
  recordedAt: '2025-03-01T11:00:00.000Z',
  type: 'TEMPERATURE',
  value: 4.5,
  unit: 'CEL',
  ...extra,
});

// Readings come from devices and partners (schema/device.graphql): a partner of tenant A reports by default.
beforeAll(async () => {
  kit = await startKit({ principal: partnerOf(TENANT_A) });
});
afterAll(() => kit.close());

describe('recordSensorReading', () => {
  it('stores an unverified reading, touches lastSeenAt, links the shipment and audits', async () => {
    const tag = await device(TENANT_A);
    kit.clock.now = new Date('2025-03-01T12:30:00.000Z');
    const input = reading(tag, { shipmentId: SHIP_A, parcelBarcode: '00340123450000000017', jws: 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln' });
    const r = await kit.gql(RECORD, { input });
    expect(r.errors).toBeUndefined();
    const saved = r.data!.recordSensorReading;
    expect(saved).toMatchObject({ deviceId: tag, shipmentId: SHIP_A, parcelBarcode: '00340123450000000017', recordedAt: input.recordedAt, windowStartedAt: null, type: 'TEMPERATURE', value: 4.5, unit: 'CEL', verified: false, alarm: false });
    expect((await kit.gql(DEVICE, { id: tag })).data!.device.lastSeenAt).toBe('2025-03-01T12:30:00.000Z');
    const stored = await kit.models.SensorReading.findById(saved.id).lean();
    expect(stored).toMatchObject({ tenantId: TENANT_A, jws: input.jws, verified: false });
    expect(await kit.models.ShipmentDevice.countDocuments({ shipmentId: SHIP_A, deviceId: tag })).toBe(1);
    expect(kit.audit.events.find((e) => e.target === `SensorReading:${saved.id}`)).toMatchObject({ type: 'sensor_reading.recorded', tenantId: TENANT_A });
  });

  it('accepts an aggregate over a window', async () => {
    const tag = await device(TENANT_A, 'PENDING');
    const input = reading(tag, { value: null, min: 3.1, max: 6.2, mean: 4.4, windowStartedAt: '2025-03-01T10:45:00.000Z' });
    const r = await kit.gql(RECORD, { input });
    expect(r.data!.recordSensorReading).toMatchObject({ value: null, min: 3.1, max: 6.2, mean: 4.4, windowStartedAt: '2025-03-01T10:45:00.000Z' });
  });

  describe('idempotency on (tenant, device, clientReadingId)', () => {
    it('returns the first reading for a repeat with the same payload, and stores one', async () => {
      const tag = await device(TENANT_A);
      const input = reading(tag, { shipmentId: SHIP_A2 });
      const first = await kit.gql(RECORD, { input });
      const events = kit.audit.events.length;
      kit.clock.now = new Date(kit.clock.now.getTime() + 60_000);
      const again = await kit.gql(RECORD, { input });
      expect(again.data!.recordSensorReading).toEqual(first.data!.recordSensorReading);
      expect(await kit.models.SensorReading.countDocuments({ deviceId: tag })).toBe(1);
      expect(kit.audit.events.length).toBe(events);
      // The repeat is still a call from the device.
      expect((await kit.gql(DEVICE, { id: tag })).data!.device.lastSeenAt).toBe(kit.clock.now.toISOString());
    });

    it('stores one reading when the same request races itself', async () => {
      const tag = await device(TENANT_A);
      const input = reading(tag);
      const results = await Promise.all(Array.from({ length: 6 }, () => kit.gql(RECORD, { input })));
      expect(new Set(results.map((r) => r.data!.recordSensorReading.id)).size).toBe(1);
      expect(await kit.models.SensorReading.countDocuments({ deviceId: tag })).toBe(1);
    });

    it('refuses the same key with another payload with CONFLICT / IDEMPOTENCY_KEY_REUSED', async () => {
      const tag = await device(TENANT_A);
      const input = reading(tag);
      await kit.gql(RECORD, { input });
      const r = await kit.gql(RECORD, { input: { ...input, value: 9.9 } });
      expect(codes(r)).toEqual(['CONFLICT']);
      expect(reasons(r)).toEqual(['IDEMPOTENCY_KEY_REUSED']);
      expect(kit.audit.events.at(-1)).toMatchObject({ type: 'sensor_reading.refused', details: { reason: 'IDEMPOTENCY_KEY_REUSED' } });
    });

    it('scopes the key to the device and the tenant', async () => {
      const [a1, a2, b1] = [await device(TENANT_A), await device(TENANT_A), await device(TENANT_B)];
      const key = 'shared-key';
      const ids = [
        (await kit.gql(RECORD, { input: reading(a1, { clientReadingId: key }) })).data!.recordSensorReading.id,
        (await kit.gql(RECORD, { input: reading(a2, { clientReadingId: key, value: 5 }) })).data!.recordSensorReading.id,
        (await kit.gql(RECORD, { input: reading(b1, { clientReadingId: key, value: 6 }) }, partnerOf(TENANT_B))).data!.recordSensorReading.id,
      ];
      expect(new Set(ids).size).toBe(3);
    });
  });

  describe('refusals', () => {
    it('treats another tenant’s device as missing: NOT_FOUND / DEVICE_NOT_FOUND', async () => {
      const other = await device(TENANT_B);
      for (const deviceId of [other, 'no-such-device']) {
        const r = await kit.gql(RECORD, { input: reading(deviceId) });
        expect(codes(r)).toEqual(['NOT_FOUND']);
        expect(reasons(r)).toEqual(['DEVICE_NOT_FOUND']);
      }
      expect(await kit.models.SensorReading.countDocuments({ deviceId: other })).toBe(0);
    });

    it.each([
      ['QUARANTINED', 'DEVICE_QUARANTINED'],
      ['RETIRED', 'DEVICE_RETIRED'],
    ] as const)('refuses a %s device with FORBIDDEN / %s and audits it', async (status, reason) => {
      const tag = await device(TENANT_A, status);
      const r = await kit.gql(RECORD, { input: reading(tag) });
      expect(codes(r)).toEqual(['FORBIDDEN']);
      expect(reasons(r)).toEqual([reason]);
      expect(await kit.models.SensorReading.countDocuments({ deviceId: tag })).toBe(0);
      expect(kit.audit.events.at(-1)).toMatchObject({ type: 'sensor_reading.refused', target: `Device:${tag}`, details: { reason } });
    });

    it('refuses a principal without a tenant: a system one with BAD_USER_INPUT (TENANT_REQUIRED), an anonymous one with UNAUTHENTICATED', async () => {
      const tag = await device(TENANT_A);
      expect(codes(await kit.gql(RECORD, { input: reading(tag) }, SYSTEM))).toEqual(['BAD_USER_INPUT']);
      expect(codes(await kit.gql(RECORD, { input: reading(tag) }, { kind: 'anonymous' }))).toEqual(['UNAUTHENTICATED']);
    });

    it.each([
      ['an empty clientReadingId', { clientReadingId: '' }, { reason: 'TOO_SHORT', argument: 'input.clientReadingId', min: 1 }],
      ['a clientReadingId over 255 characters', { clientReadingId: 'k'.repeat(256) }, { reason: 'TOO_LONG', argument: 'input.clientReadingId', max: 255 }],
      ['an oversized JWS', { jws: 'a'.repeat(16 * 1024 + 1) }, { reason: 'TOO_LONG', argument: 'input.jws', max: 16 * 1024 }],
    ])('refuses %s with BAD_USER_INPUT from its @length, before the resolver runs', async (_name, extra, extensions) => {
      const tag = await device(TENANT_A);
      const r = await kit.gql(RECORD, { input: reading(tag, extra) });
      expect(codes(r)).toEqual(['BAD_USER_INPUT']);
      expect(r.errors![0].extensions).toMatchObject(extensions);
      expect(await kit.models.SensorReading.countDocuments({ deviceId: tag })).toBe(0);
    });

    it.each([
      ['a unit that does not fit the type', { unit: 'LUX' }, 'input.unit'],
      ['no value and no aggregate', { value: null }, 'input.value'],
      ['min above max', { value: null, min: 5, max: 3 }, 'input.min'],
      ['a mean outside min..max', { value: null, min: 1, max: 3, mean: 4 }, 'input.mean'],
      ['recordedAt in the future', { recordedAt: '2030-01-01T00:00:00Z' }, 'input.recordedAt'],
      ['a window that starts after it ends', { windowStartedAt: '2025-03-01T11:30:00Z' }, 'input.windowStartedAt'],
    ])('refuses %s with BAD_USER_INPUT', async (_name, extra, argument) => {
      const tag = await device(TENANT_A);
      const r = await kit.gql(RECORD, { input: reading(tag, extra) });
      expect(codes(r)).toEqual(['BAD_USER_INPUT']);
      expect(r.errors![0].extensions).toMatchObject({ reason: 'INVALID_READING', argument });
    });

    it('refuses a malformed DateTime or enum with BAD_USER_INPUT before any resolver runs', async () => {
      const tag = await device(TENANT_A);
      expect(codes(await kit.gql(RECORD, { input: reading(tag, { recordedAt: 'yesterday' }) }))).toEqual(['BAD_USER_INPUT']);
      expect(codes(await kit.gql(RECORD, { input: reading(tag, { type: 'SMELL' }) }))).toEqual(['BAD_USER_INPUT']);
    });
  });

  describe('who may report', () => {
    it('lets a device report for itself and an active gateway relay for a tag; refuses any other device', async () => {
      const tag = await device(TENANT_A);
      const gateway = await device(TENANT_A, 'ACTIVE', 'GATEWAY');
      const otherTag = await device(TENANT_A);
      const pendingGateway = await device(TENANT_A, 'PENDING', 'GATEWAY');
      expect((await kit.gql(RECORD, { input: reading(tag) }, deviceOf(TENANT_A, tag))).errors).toBeUndefined();
      expect((await kit.gql(RECORD, { input: reading(tag) }, deviceOf(TENANT_A, gateway))).errors).toBeUndefined();
      for (const reporter of [otherTag, pendingGateway]) {
        const r = await kit.gql(RECORD, { input: reading(tag) }, deviceOf(TENANT_A, reporter));
        expect(codes(r)).toEqual(['FORBIDDEN']);
        expect(reasons(r)).toEqual(['REPORTER_NOT_ALLOWED']);
      }
    });

    it('does not let tenant B’s gateway relay for tenant A’s tag', async () => {
      const tag = await device(TENANT_A);
      const gateway = await device(TENANT_B, 'ACTIVE', 'GATEWAY');
      expect(reasons(await kit.gql(RECORD, { input: reading(tag) }, deviceOf(TENANT_B, gateway)))).toEqual(['DEVICE_NOT_FOUND']);
    });
  });

  it('sets alarm from the injected rule', async () => {
    const alarmed = await startKit({ principal: partnerOf(TENANT_A), alarmRule: (r) => r.type === 'TEMPERATURE' && r.value !== null && (r.value < 2 || r.value > 8) });
    try {
      await alarmed.models.Device.create({ _id: 'tag-alarm', tenantId: TENANT_A, kind: 'SENSOR_TAG', status: 'ACTIVE', createdAt: alarmed.clock.now });
      const warm = await alarmed.gql(RECORD, { input: reading('tag-alarm', { value: 9.2 }) });
      const fine = await alarmed.gql(RECORD, { input: reading('tag-alarm', { value: 5 }) });
      expect([warm.data!.recordSensorReading.alarm, fine.data!.recordSensorReading.alarm]).toEqual([true, false]);
    } finally {
      await alarmed.close();
    }
  });
});

describe('Shipment fields', () => {
  const SHIP = 'ship-pages-000000000001';
  let tag: string;
  let ids: string[]; // newest first

  beforeAll(async () => {
    tag = await device(TENANT_A);
    const times = ['2025-03-01T08:00:00Z', '2025-03-01T09:00:00Z', '2025-03-01T09:00:00Z', '2025-03-01T09:00:00Z', '2025-03-01T10:00:00Z'];
    const created: Array<{ id: string; t: string }> = [];
    for (const [i, t] of times.entries()) {
      const r = await kit.gql(RECORD, { input: reading(tag, { shipmentId: SHIP, recordedAt: t, value: 3 + i }) });
      created.push({ id: r.data!.recordSensorReading.id, t });
    }
    // Newest first; equal times by id descending.
    ids = created.sort((x, y) => (x.t === y.t ? (x.id < y.id ? 1 : -1) : x.t < y.t ? 1 : -1)).map((c) => c.id);
  });

  it('pages readings newest first, ties broken by id, with totalCount on every page', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const r: GqlResult = await kit.gql(SHIPMENTS, { reps: ship(SHIP), first: 2, after });
      expect(r.errors).toBeUndefined();
      const conn: any = r.data!._entities[0].readings;
      expect(conn.totalCount).toBe(5);
      seen.push(...conn.edges.map((e: any) => e.node.id));
      after = conn.pageInfo.hasNextPage ? conn.pageInfo.endCursor : null;
      pages++;
    } while (after);
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);
  });

  it('gives the newest reading as latestReading and the reporting device in devices', async () => {
    const r = await kit.gql(SHIPMENTS, { reps: ship(SHIP), first: 1 });
    const s = r.data!._entities[0];
    expect(s.latestReading).toEqual({ id: ids[0], value: 7, recordedAt: '2025-03-01T10:00:00.000Z' });
    expect(s.devices).toEqual([{ id: tag, kind: 'SENSOR_TAG' }]);
  });

  it('answers a shipment without readings with empty fields', async () => {
    const r = await kit.gql(SHIPMENTS, { reps: ship('ship-without-readings') });
    expect(r.data!._entities[0]).toEqual({
      id: 'ship-without-readings',
      devices: [],
      readings: { totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } },
      latestReading: null,
    });
  });

  it('shows tenant B nothing of tenant A’s readings or devices on the same shipment id', async () => {
    const r = await kit.gql(SHIPMENTS, { reps: ship(SHIP) }, adminOf(TENANT_B));
    expect(r.data!._entities[0]).toMatchObject({ devices: [], readings: { totalCount: 0, edges: [] }, latestReading: null });
  });

  it('refuses first above 100 and bad cursors with BAD_USER_INPUT, wrong types with GRAPHQL_VALIDATION_FAILED', async () => {
    expect(codes(await kit.gql(SHIPMENTS, { reps: ship(SHIP), first: 1000 }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await kit.gql(SHIPMENTS, { reps: ship(SHIP), after: '%%%' }))).toEqual(['BAD_USER_INPUT']);
    const q = `{ _entities(representations: [{ __typename: "Shipment", id: "x" }]) { ... on Shipment { readings(first: "1") { totalCount } } } }`;
    expect(codes(await kit.gql(q))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });
});
