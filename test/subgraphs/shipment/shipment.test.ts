/**
 * The shipment subgraph over real HTTP and devdb: creating, reading,
 * listing and changing shipments, tenant isolation, `_entities` and the
 * N+1 guarantee.
 */
import { createHash } from 'node:crypto';
import { seed } from '../../../subgraphs/shipment/seed';
import {
  CREATE,
  adminA,
  adminB,
  anonymous,
  codes,
  createShipment,
  plan,
  reasons,
  recordEvent,
  revealed,
  shipmentInput,
  startKit,
  system,
  tenantA,
  tenantB,
  uniqueTrackingNumber,
  userOf,
  type Kit,
} from './kit';

let kit: Kit;

beforeAll(async () => {
  kit = await startKit();
  await seed(kit.stores.forRegion(), plan);
}, 30_000);

afterAll(async () => {
  await kit?.stop();
});

afterEach(() => {
  kit.clock.offsetMs = 0;
});

const seededA = plan.shipments.filter((s) => s.tenantId === tenantA.id);
const seededB = plan.shipments.filter((s) => s.tenantId === tenantB.id);

describe('createShipment', () => {
  test('creates a PENDING shipment in the caller’s tenant and hands out the public token once', async () => {
    const res = await kit.gql(CREATE, { input: shipmentInput({ trackingNumber: 'jd 0146 0000 1234' }) });
    expect(res.errors).toBeUndefined();
    const s = res.data.createShipment;
    expect(s).toMatchObject({
      tenantId: tenantA.id,
      region: 'EU',
      carrier: 'DHL',
      trackingNumber: 'JD014600001234',
      serviceLevel: 'EXPRESS',
      status: 'PENDING',
      statusDetail: null,
      eta: '2030-01-10T12:00:00.000Z',
      originalEta: '2030-01-10T12:00:00.000Z',
      isReturn: false,
      // Masked by default, also in the answer to the write (city level; lib/pii/masking.ts).
      destination: { line1: '•••', city: 'Berlin', postalCode: '10•••', countryIso3: 'DEU' },
      recipient: { name: 'T*** R***', phone: '•••• ••• 999', email: 't***@example.com' },
      deliveryNotes: '•••',
      parcels: [{ barcode: '376123450000000017', weightGrams: 1200, temperatureProfile: { min: 2, max: 8, unit: 'CEL' } }],
    });
    // Stored as given (email lower-cased): the audited reveal shows it.
    expect(await revealed(kit, s.id)).toMatchObject({
      destination: { line1: '2 Example Street', city: 'Berlin', postalCode: '10115', countryIso3: 'DEU' },
      recipient: { name: 'Test Recipient', phone: '+15550100999', email: 'test.recipient@example.com' },
      deliveryNotes: 'Door code 0000 (test)',
    });
    expect(s.id).toMatch(/^[0-9a-f]{24}$/);
    expect(s.recipientSubjectId).toMatch(/^[0-9a-f]{24}$/);
    expect(s.publicTrackingToken).toMatch(/^[A-Za-z0-9_-]{22}$/);

    // Only the token's SHA-256 is stored, and reading the shipment again never shows the token.
    const stored = await kit.stores.forRegion().db!.collection('shipments').findOne({ _id: s.id } as never);
    expect(JSON.stringify(stored)).not.toContain(s.publicTrackingToken);
    expect(stored!.publicTokenHash).toBe(createHash('sha256').update(s.publicTrackingToken).digest('hex'));
    const again = await kit.gql(`query($id: ID!) { shipment(id: $id) { id publicTrackingToken } }`, { id: s.id });
    expect(again.data.shipment).toEqual({ id: s.id, publicTrackingToken: null });
  });

  test('gives every shipment its own recipient subject id', async () => {
    const a = await createShipment(kit);
    const b = await createShipment(kit);
    expect(a.recipientSubjectId).not.toBe(b.recipientSubjectId);
  });

  test('records an audit event without personal data', async () => {
    const s = await createShipment(kit);
    const event = kit.audit.events.find((e) => e.type === 'shipment.created' && e.target === `Shipment:${s.id}`);
    expect(event).toMatchObject({ actor: `user:${adminA.kind === 'user' ? adminA.id : ''}`, tenantId: tenantA.id });
    const text = JSON.stringify(event);
    for (const personal of ['Test Recipient', 'example.com', '+1555', 'Example Street', '10115', 'Door code', s.trackingNumber]) expect(text).not.toContain(personal);
  });

  test('refuses a tracking number the tenant used with the same carrier in the last 180 days', async () => {
    const trackingNumber = uniqueTrackingNumber();
    await createShipment(kit, { trackingNumber });
    const again = await kit.gql(CREATE, { input: shipmentInput({ trackingNumber: trackingNumber.toLowerCase() }) });
    expect(codes(again)).toEqual(['CONFLICT']);
    expect(reasons(again)).toEqual(['TRACKING_NUMBER_IN_USE']);
    expect(again.errors![0].message).not.toContain(trackingNumber);
  });

  test('refuses a seeded tracking number within the window', async () => {
    const seeded = seededA[0];
    const res = await kit.gql(CREATE, { input: shipmentInput({ carrier: seeded.carrier, trackingNumber: seeded.trackingNumber }) });
    expect(reasons(res)).toEqual(['TRACKING_NUMBER_IN_USE']);
  });

  test('accepts the same number with another carrier, or in another tenant', async () => {
    const trackingNumber = uniqueTrackingNumber();
    await createShipment(kit, { trackingNumber });
    await expect(createShipment(kit, { trackingNumber, carrier: 'UPS' })).resolves.toMatchObject({ carrier: 'UPS' });
    await expect(createShipment(kit, { trackingNumber }, adminB)).resolves.toMatchObject({ tenantId: tenantB.id });
  });

  test('accepts a recycled number once the 180-day window has passed', async () => {
    const trackingNumber = uniqueTrackingNumber();
    const first = await createShipment(kit, { trackingNumber });
    kit.clock.offsetMs = 181 * 24 * 60 * 60 * 1000;
    const second = await createShipment(kit, { trackingNumber });
    expect(second.id).not.toBe(first.id);
    kit.clock.offsetMs = 182 * 24 * 60 * 60 * 1000;
    expect(reasons(await kit.gql(CREATE, { input: shipmentInput({ trackingNumber }) }))).toEqual(['TRACKING_NUMBER_IN_USE']);
  });

  test('of two concurrent creates with one number, exactly one succeeds', async () => {
    const trackingNumber = uniqueTrackingNumber();
    const results = await Promise.all(Array.from({ length: 4 }, () => kit.gql(CREATE, { input: shipmentInput({ trackingNumber }) })));
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    expect(results.filter((r) => r.errors).flatMap(reasons)).toEqual(['TRACKING_NUMBER_IN_USE', 'TRACKING_NUMBER_IN_USE', 'TRACKING_NUMBER_IN_USE']);
    const list = await kit.gql(`query($n: String) { shipments(filter: { trackingNumber: $n }) { totalCount } }`, { n: trackingNumber });
    expect(list.data.shipments.totalCount).toBe(1);
  });

  test.each([
    ['no parcels', { parcels: [] }, 'parcels'],
    ['a bad tracking number', { trackingNumber: 'a!' }, 'trackingNumber'],
    ['an inverted temperature range', { parcels: [{ barcode: 'X1', temperatureProfile: { min: 8, max: 2, unit: 'CEL' } }] }, 'parcels.0.temperatureProfile'],
  ])('refuses %s with BAD_USER_INPUT naming the field', async (_what, override, field) => {
    const res = await kit.gql(CREATE, { input: shipmentInput(override) });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0].extensions!.field).toBe(field);
  });

  // Typed inputs (lib/validation/scalars.ts): refused while the variables are coerced, before any resolver runs.
  test.each([
    ['an unknown country', { destination: { countryIso3: 'DE' } }, 'input.destination.countryIso3', 'ISO 3166-1 alpha-3'],
    ['a phone outside E.164', { recipient: { phone: '0555 123' } }, 'input.recipient.phone', 'E.164'],
    ['an email without domain', { recipient: { email: 'nobody' } }, 'input.recipient.email', 'email address'],
    ['a negative customs value', { customs: { hsCode: '611020', declaredValue: -1, currency: 'EUR', countryOfOrigin: 'DEU' } }, 'input.customs.declaredValue', '0 or more'],
    ['an unknown currency', { customs: { hsCode: '611020', declaredValue: 1, currency: 'EUX', countryOfOrigin: 'DEU' } }, 'input.customs.currency', 'ISO 4217'],
    ['a zero dimension', { parcels: [{ barcode: 'X1', dimensions: { lengthMm: 0, widthMm: 1, heightMm: 1 } }] }, 'input.parcels[0].dimensions.lengthMm', '1 or more'],
  ])('refuses %s with BAD_USER_INPUT at coercion, naming the path', async (_what, override, path, expected) => {
    const res = await kit.gql(CREATE, { input: shipmentInput(override) });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0].message).toContain(`at "${path}"`);
    expect(res.errors![0].message).toContain(expected);
  });

  test('refuses an over-long text with BAD_USER_INPUT / TOO_LONG naming the path and the limit (@length)', async () => {
    const res = await kit.gql(CREATE, { input: shipmentInput({ recipient: { name: 'x'.repeat(201) } }) });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0].extensions).toMatchObject({ reason: 'TOO_LONG', argument: 'input.recipient.name', max: 200 });
  });

  test('refuses a system caller (no tenant) and an anonymous one', async () => {
    const bySystem = await kit.gql(CREATE, { input: shipmentInput() }, system);
    expect(codes(bySystem)).toEqual(['BAD_USER_INPUT']);
    expect(reasons(bySystem)).toEqual(['TENANT_REQUIRED']);
    expect(codes(await kit.gql(CREATE, { input: shipmentInput() }, anonymous))).toEqual(['UNAUTHENTICATED']);
  });

  test('ignores a tenant in the input: the schema has no such field', async () => {
    const res = await kit.gql(CREATE, { input: shipmentInput({ tenantId: tenantB.id }) });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('shipment(id)', () => {
  test('returns the caller’s shipment with its seeded journey', async () => {
    const s = seededA[1];
    const res = await kit.gql(
      `query($id: ID!) { shipment(id: $id) { id tenantId region carrier trackingNumber recipientSubjectId status proofOfDelivery { outcome capturedAt } latestEvent { status } } }`,
      { id: s.id },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.shipment).toMatchObject({ id: s.id, tenantId: s.tenantId, region: s.region, carrier: s.carrier, trackingNumber: s.trackingNumber, recipientSubjectId: s.recipientSubjectId });
  });

  test('is null for another tenant’s shipment and for an unknown id', async () => {
    const theirs = await kit.gql(`query($id: ID!) { shipment(id: $id) { id } }`, { id: seededA[0].id }, adminB);
    expect(theirs.errors).toBeUndefined();
    expect(theirs.data.shipment).toBeNull();
    const unknown = await kit.gql(`{ shipment(id: "000000000000000000000000") { id } }`);
    expect(unknown.data.shipment).toBeNull();
    const junk = await kit.gql(`query($id: ID!) { shipment(id: $id) { id } }`, { id: '{"$gt":""}' });
    expect(junk.data.shipment).toBeNull();
  });

  test('needs a caller', async () => {
    expect(codes(await kit.gql(`query($id: ID!) { shipment(id: $id) { id } }`, { id: seededA[0].id }, anonymous))).toEqual(['UNAUTHENTICATED']);
  });
});

const LIST = /* GraphQL */ `
  query List($filter: ShipmentFilter, $first: Int, $after: String) {
    shipments(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id tenantId status carrier createdAt } }
    }
  }
`;

describe('shipments(filter, first, after)', () => {
  async function all(filter: Record<string, unknown> = {}, principal = adminA, first = 7) {
    const seen: any[] = [];
    let after: string | null = null;
    for (let page = 0; page < 50; page++) {
      const res: any = await kit.gql(LIST, { filter, first, after }, principal);
      expect(res.errors).toBeUndefined();
      seen.push(...res.data.shipments.edges.map((e: any) => e.node));
      if (!res.data.shipments.pageInfo.hasNextPage) return { nodes: seen, totalCount: res.data.shipments.totalCount };
      after = res.data.shipments.pageInfo.endCursor;
    }
    throw new Error('pagination did not end');
  }

  test('pages through the tenant’s shipments newest first, without overlap, with totalCount', async () => {
    const { nodes, totalCount } = await all();
    expect(nodes.length).toBe(totalCount);
    expect(new Set(nodes.map((n) => n.id)).size).toBe(nodes.length);
    for (const id of seededA.map((s) => s.id)) expect(nodes.map((n) => n.id)).toContain(id);
    const times = nodes.map((n) => Date.parse(n.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(nodes.every((n) => n.tenantId === tenantA.id)).toBe(true);
  });

  test('a user of tenant B never sees tenant A’s shipments', async () => {
    const { nodes } = await all({}, adminB, 100);
    expect(nodes.length).toBeGreaterThanOrEqual(seededB.length);
    expect(nodes.every((n) => n.tenantId === tenantB.id)).toBe(true);
    const byNumber = await kit.gql(LIST, { filter: { trackingNumber: seededA[0].trackingNumber } }, adminB);
    expect(byNumber.data.shipments).toMatchObject({ totalCount: 0, edges: [] });
  });

  test('a system caller sees every tenant', async () => {
    const res = await kit.gql(LIST, { first: 0 }, system);
    expect(res.data.shipments.totalCount).toBeGreaterThanOrEqual(plan.shipments.length);
    expect(res.data.shipments.edges).toEqual([]);
  });

  test('filters by status, carrier, tracking number, region and creation time (AND)', async () => {
    const delivered = await all({ status: ['DELIVERED'] });
    expect(delivered.nodes.length).toBeGreaterThan(0);
    expect(delivered.nodes.every((n) => n.status === 'DELIVERED')).toBe(true);
    const ups = await all({ carrier: 'ups' });
    expect(ups.nodes.length).toBeGreaterThan(0);
    expect(ups.nodes.every((n) => n.carrier === 'UPS')).toBe(true);
    const one = await all({ trackingNumber: seededA[3].trackingNumber.toLowerCase() });
    expect(one.nodes.map((n) => n.id)).toEqual([seededA[3].id]);
    expect((await all({ region: 'US' })).totalCount).toBe(0);
    const cut = Date.now() - 14 * 24 * 60 * 60 * 1000;
    const recent = await all({ createdAfter: new Date(cut).toISOString(), status: ['DELIVERED', 'IN_TRANSIT'] });
    expect(recent.nodes.every((n) => Date.parse(n.createdAt) >= cut && ['DELIVERED', 'IN_TRANSIT'].includes(n.status))).toBe(true);
    const older = await all({ createdBefore: new Date(cut).toISOString() });
    expect(older.nodes.every((n) => Date.parse(n.createdAt) < cut)).toBe(true);
  });

  test('refuses a bad cursor, first above 100 and wrong argument types with their codes', async () => {
    expect(codes(await kit.gql(LIST, { after: 'not-a-cursor' }))).toEqual(['BAD_USER_INPUT']);
    const stringKey = Buffer.from(JSON.stringify(['x', 'abc'])).toString('base64url');
    expect(codes(await kit.gql(LIST, { after: stringKey }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await kit.gql(LIST, { first: 1000 }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await kit.gql(LIST, { first: -1 }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await kit.gql(`{ shipments(first: "ten") { totalCount } }`))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(codes(await kit.gql(`{ shipments(filter: { status: [SHIPPED] }) { totalCount } }`))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  test('needs a caller', async () => {
    expect(codes(await kit.gql(LIST, {}, anonymous))).toEqual(['UNAUTHENTICATED']);
  });
});

const UPDATE = /* GraphQL */ `
  mutation Update($id: ID!, $input: UpdateShipmentDetailsInput!) {
    updateShipmentDetails(id: $id, input: $input) {
      id serviceLevel eta originalEta deliveryNotes status
      destination { line1 city countryIso3 }
      recipient { name email phone }
      customs { hsCode declaredValue currency countryOfOrigin }
    }
  }
`;

describe('updateShipmentDetails', () => {
  test('changes only the fields the input lists and keeps originalEta', async () => {
    const s = await createShipment(kit);
    const res = await kit.gql(UPDATE, { id: s.id, input: { eta: '2030-01-12T09:00:00Z', deliveryNotes: 'Ring twice (test)' } });
    expect(res.errors).toBeUndefined();
    expect(res.data.updateShipmentDetails).toMatchObject({
      serviceLevel: 'EXPRESS',
      eta: '2030-01-12T09:00:00.000Z',
      originalEta: '2030-01-10T12:00:00.000Z',
      deliveryNotes: '•••',
      status: 'PENDING',
      destination: { line1: '•••', city: 'Berlin', countryIso3: 'DEU' },
      recipient: { name: 'T*** R***' },
      customs: null,
    });
    expect(await revealed(kit, s.id)).toMatchObject({
      deliveryNotes: 'Ring twice (test)',
      destination: { line1: '2 Example Street', city: 'Berlin', countryIso3: 'DEU' },
      recipient: { name: 'Test Recipient' },
    });
  });

  test('sets originalEta when the first ETA comes with an update', async () => {
    const s = await createShipment(kit, { eta: null });
    const res = await kit.gql(UPDATE, { id: s.id, input: { eta: '2030-02-01T00:00:00Z' } });
    expect(res.data.updateShipmentDetails).toMatchObject({ eta: '2030-02-01T00:00:00.000Z', originalEta: '2030-02-01T00:00:00.000Z' });
  });

  test('replaces a corrected address, recipient and customs declaration, and may clear notes', async () => {
    const s = await createShipment(kit);
    const res = await kit.gql(UPDATE, {
      id: s.id,
      input: {
        destination: { line1: '9 Other Road', city: 'Zurich', countryIso3: 'CHE' },
        recipient: { name: 'Other Recipient', email: 'other@example.com' },
        customs: { hsCode: '611020', declaredValue: 4999, currency: 'chf', countryOfOrigin: 'PRT' },
        deliveryNotes: null,
      },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data.updateShipmentDetails).toMatchObject({
      destination: { line1: '•••', city: 'Zurich', countryIso3: 'CHE' },
      recipient: { name: 'O*** R***', email: 'o***@example.com', phone: null },
      customs: { hsCode: '611020', declaredValue: 4999, currency: 'CHF', countryOfOrigin: 'PRT' },
      deliveryNotes: null,
    });
    expect(await revealed(kit, s.id)).toMatchObject({
      destination: { line1: '9 Other Road', city: 'Zurich', countryIso3: 'CHE' },
      recipient: { name: 'Other Recipient', email: 'other@example.com', phone: null },
      deliveryNotes: null,
    });
  });

  test('concurrent changes of different personal fields and a proof of delivery all stand (each rewrites the envelope with a compare-and-set; a loser retries)', async () => {
    const s = await createShipment(kit);
    const capturedAt = new Date(Date.now() - 60_000).toISOString();
    const results = await Promise.all([
      kit.gql(UPDATE, { id: s.id, input: { deliveryNotes: 'Notes A (test)' } }),
      kit.gql(UPDATE, { id: s.id, input: { recipient: { name: 'Name B', phone: '+15550100222' } } }),
      kit.gql(UPDATE, { id: s.id, input: { destination: { line1: '3 C Street', city: 'Hamburg', countryIso3: 'DEU' } } }),
      recordEvent(kit, s.id, 'DELIVERED', -1, { proofOfDelivery: { outcome: 'SUCCEEDED', signerName: 'Signer D', capturedAt } }),
    ]);
    for (const r of results) expect(r.errors).toBeUndefined();
    expect(await revealed(kit, s.id)).toMatchObject({
      deliveryNotes: 'Notes A (test)',
      recipient: { name: 'Name B', phone: '+15550100222', email: null },
      destination: { line1: '3 C Street', city: 'Hamburg' },
      origin: { line1: '1 Test Warehouse Way' },
      proofOfDelivery: { outcome: 'SUCCEEDED', signerName: 'Signer D' },
    });
  });

  test('audits the names of the changed fields, never their values', async () => {
    const s = await createShipment(kit);
    await kit.gql(UPDATE, { id: s.id, input: { recipient: { name: 'Secret Name', phone: '+15550100111' } } });
    const event = kit.audit.events.find((e) => e.type === 'shipment.details_updated' && e.target === `Shipment:${s.id}`);
    expect(event?.details).toEqual({ fields: ['recipient'] });
    expect(JSON.stringify(event)).not.toContain('Secret');
  });

  test('answers NOT_FOUND for another tenant’s shipment and leaves it unchanged', async () => {
    const res = await kit.gql(UPDATE, { id: seededA[0].id, input: { deliveryNotes: 'hijack' } }, adminB);
    expect(codes(res)).toEqual(['NOT_FOUND']);
    expect((await revealed(kit, seededA[0].id)).deliveryNotes).not.toBe('hijack');
  });

  test('refuses an empty change, a removed destination and a malformed field', async () => {
    const s = await createShipment(kit);
    expect(codes(await kit.gql(UPDATE, { id: s.id, input: {} }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await kit.gql(UPDATE, { id: s.id, input: { destination: null } }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await kit.gql(UPDATE, { id: s.id, input: { customs: { hsCode: '12', declaredValue: 1, currency: 'EUR', countryOfOrigin: 'DEU' } } }))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(codes(await kit.gql(UPDATE, { id: s.id, input: { status: 'DELIVERED' } }))).toEqual(['BAD_USER_INPUT']);
  });
});

const ENTITIES = /* GraphQL */ `
  query Entities($reps: [_Any!]!) {
    _entities(representations: $reps) {
      ... on Shipment {
        id tenantId recipientSubjectId status carrier
        parcels { barcode temperatureProfile { min max unit } }
        proofOfDelivery { outcome signerName capturedAt retainUntil }
        latestEvent { id status occurredAt }
        events(first: 3) { totalCount pageInfo { hasNextPage endCursor } edges { node { id status occurredAt location { city } } } }
      }
    }
  }
`;

describe('_entities', () => {
  test('resolves the caller’s shipments with tenantId and recipientSubjectId (for @requires)', async () => {
    const reps = seededA.slice(0, 3).map((s) => ({ __typename: 'Shipment', id: s.id }));
    const res = await kit.gql(ENTITIES, { reps });
    expect(res.errors).toBeUndefined();
    expect(res.data._entities.map((e: any) => [e.id, e.tenantId, e.recipientSubjectId])).toEqual(seededA.slice(0, 3).map((s) => [s.id, s.tenantId, s.recipientSubjectId]));
  });

  test('resolves another tenant’s shipment, an unknown id and a malformed representation to null', async () => {
    const reps = [
      { __typename: 'Shipment', id: seededA[0].id },
      { __typename: 'Shipment', id: seededB[0].id },
      { __typename: 'Shipment', id: '000000000000000000000000' },
      { __typename: 'Shipment', id: { $ne: null } },
    ];
    const res = await kit.gql(ENTITIES, { reps }, adminB);
    expect(res.data._entities.map((e: any) => e?.id ?? null)).toEqual([null, seededB[0].id, null, null]);
  });

  test('resolves nothing for an anonymous caller', async () => {
    const res = await kit.gql(ENTITIES, { reps: [{ __typename: 'Shipment', id: seededA[0].id }] }, anonymous);
    expect(res.data._entities).toEqual([null]);
  });

  test('50 shipments with every per-shipment field cost one query per collection (no N+1)', async () => {
    const reps = plan.shipments.map((s) => ({ __typename: 'Shipment', id: s.id }));
    expect(reps).toHaveLength(50);
    kit.devdb.resetStats();
    const res = await kit.gql(ENTITIES, { reps }, system);
    expect(res.errors).toBeUndefined();
    const reads = Object.entries(kit.devdb.stats().byCollection).filter(([k]) => /^(find|aggregate|count|distinct):/.test(k));
    expect(Object.fromEntries(reads)).toEqual({ 'find:shipments': 1, 'aggregate:tracking_events': 1 });
    const entities = res.data._entities;
    expect(entities.every((e: any) => e && e.latestEvent && e.events.edges.length > 0)).toBe(true);
    for (const e of entities) {
      expect(e.events.edges[0].node.id).toBe(e.latestEvent.id);
      expect(e.events.totalCount).toBeGreaterThanOrEqual(3);
      expect(e.events.pageInfo.hasNextPage).toBe(e.events.totalCount > 3);
    }
  });

  test('a user of one tenant resolving all 50 gets only its own, still in one query per collection', async () => {
    kit.devdb.resetStats();
    const res = await kit.gql(ENTITIES, { reps: plan.shipments.map((s) => ({ __typename: 'Shipment', id: s.id })) }, userOf(tenantB.id, 'DISPATCHER'));
    const reads = Object.entries(kit.devdb.stats().byCollection).filter(([k]) => /^(find|aggregate):/.test(k));
    expect(Object.fromEntries(reads)).toEqual({ 'find:shipments': 1, 'aggregate:tracking_events': 1 });
    const ids = res.data._entities.filter(Boolean).map((e: any) => e.tenantId);
    expect(ids).toHaveLength(seededB.length);
    expect(new Set(ids)).toEqual(new Set([tenantB.id]));
  });
});

describe('events on a created shipment', () => {
  test('a fresh shipment has no events and no latest event', async () => {
    const s = await createShipment(kit);
    const res = await kit.gql(`query($id: ID!) { shipment(id: $id) { latestEvent { id } events { totalCount edges { cursor } pageInfo { hasNextPage endCursor } } } }`, { id: s.id });
    expect(res.data.shipment).toEqual({ latestEvent: null, events: { totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } } });
    await recordEvent(kit, s.id, 'LABEL_CREATED', -5);
  });
});
