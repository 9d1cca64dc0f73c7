/**
 * Tracking events over real HTTP and devdb: idempotent recording, the
 * status machine applied to a live shipment (late events stored but never
 * moving it back), event history pages, proof of delivery, and the
 * anonymous public tracking view.
 */
import { seed, demoTrackingLinks } from '../../../subgraphs/shipment/seed';
import { RECORD, adminA, adminB, anonymous, codes, createShipment, elevatedAdminA, plan, reasons, recordEvent, revealed, startKit, system, tenantA, userOf, type Kit } from './kit';

let kit: Kit;

beforeAll(async () => {
  kit = await startKit();
  await seed(kit.stores.forRegion(), plan);
}, 30_000);

afterAll(async () => {
  await kit?.stop();
});

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

const HISTORY = /* GraphQL */ `
  query History($id: ID!, $first: Int, $after: String) {
    shipment(id: $id) {
      status statusDetail eta originalEta
      latestEvent { id status occurredAt }
      proofOfDelivery { outcome failureReason signerName scannedBarcodes pinVerified capturedAt retainUntil deviceId geo { latitude } }
      events(first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { cursor node { id status occurredAt rawCarrierCode subStatus { code text actionRequired } source coordinates { latitude } clientEventId } }
      }
    }
  }
`;

async function history(id: string, first = 20, after?: string) {
  const res = await kit.gql(HISTORY, { id, first, after });
  expect(res.errors).toBeUndefined();
  return res.data.shipment;
}

describe('recordTrackingEvent', () => {
  test('stores the event as reported and moves the shipment forward', async () => {
    const s = await createShipment(kit);
    const res = await kit.gql(RECORD, {
      input: {
        shipmentId: s.id,
        clientEventId: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
        occurredAt: minutesAgo(30),
        utcOffsetMinutes: 60,
        status: 'IN_TRANSIT',
        subStatus: { code: 'InTransit_002', text: 'Departed hub' },
        rawCarrierCode: 'DHL-DP',
        message: 'Departed facility',
        bizStep: 'departing',
        disposition: 'in_transit',
        location: { city: 'Leipzig', region: 'Saxony', postalCode: '04109', countryIso3: 'deu', readPoint: 'urn:epc:id:sgln:4012345.00001.0' },
        coordinates: { latitude: 51.34, longitude: 12.37, accuracyMeters: 10 },
      },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data.recordTrackingEvent).toMatchObject({
      shipmentId: s.id,
      status: 'IN_TRANSIT',
      rawCarrierCode: 'DHL-DP',
      subStatus: { code: 'InTransit_002', text: 'Departed hub', actionRequired: false },
      source: 'MANUAL',
      clientEventId: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
      location: { city: 'Leipzig', countryIso3: 'DEU' },
    });
    const h = await history(s.id);
    expect(h).toMatchObject({ status: 'IN_TRANSIT', statusDetail: 'Departed facility', latestEvent: { id: res.data.recordTrackingEvent.id } });
    // Masked to city level by default; the audited, elevated reveal shows the position as reported.
    expect(h.events.edges[0].node.coordinates).toEqual({ latitude: 51.3 });
    const shown = await revealed(kit, s.id, elevatedAdminA, true);
    expect(shown.events.edges[0].node).toMatchObject({ coordinates: { latitude: 51.34, longitude: 12.37 }, location: { postalCode: '04109' } });
  });

  test('takes the source from the caller, never from the input', async () => {
    const s = await createShipment(kit);
    const byDriver = await recordEvent(kit, s.id, 'LABEL_CREATED', -20, {}, userOf(tenantA.id, 'DRIVER'));
    expect(byDriver.data.recordTrackingEvent.source).toBe('DRIVER_SCAN');
    const bySystem = await recordEvent(kit, s.id, 'IN_TRANSIT', -10, {}, system);
    expect(bySystem.data.recordTrackingEvent.source).toBe('CARRIER');
    const forged = await recordEvent(kit, s.id, 'IN_TRANSIT', -5, { source: 'SENSOR' });
    expect(codes(forged)).toEqual(['BAD_USER_INPUT']);
  });

  test('a repeat with the same key and payload returns the first event and stores nothing new', async () => {
    const s = await createShipment(kit);
    const input = { shipmentId: s.id, clientEventId: 'replay-key-1', occurredAt: minutesAgo(10), status: 'IN_TRANSIT', message: 'Arrived' };
    const first = await kit.gql(RECORD, { input });
    const again = await kit.gql(RECORD, { input: { ...input, message: '  Arrived ' } });
    expect(again.errors).toBeUndefined();
    expect(again.data.recordTrackingEvent).toEqual(first.data.recordTrackingEvent);
    expect((await history(s.id)).events.totalCount).toBe(1);
    expect(kit.audit.events.filter((e) => e.type === 'tracking_event.recorded' && e.target === `Shipment:${s.id}`)).toHaveLength(1);
  });

  test('a repeat with the same key and another payload is refused with IDEMPOTENCY_KEY_REUSED', async () => {
    const s = await createShipment(kit);
    const input = { shipmentId: s.id, clientEventId: 'replay-key-2', occurredAt: minutesAgo(10), status: 'IN_TRANSIT' };
    await kit.gql(RECORD, { input });
    const res = await kit.gql(RECORD, { input: { ...input, status: 'DELIVERED' } });
    expect(codes(res)).toEqual(['CONFLICT']);
    expect(reasons(res)).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    expect((await history(s.id)).status).toBe('IN_TRANSIT');
  });

  test('concurrent repeats of one key store one event and all answer with it', async () => {
    const s = await createShipment(kit);
    const input = { shipmentId: s.id, clientEventId: 'burst-key', occurredAt: minutesAgo(3), status: 'LABEL_CREATED' };
    const results = await Promise.all(Array.from({ length: 5 }, () => kit.gql(RECORD, { input })));
    expect(results.flatMap(codes)).toEqual([]);
    expect(new Set(results.map((r) => r.data.recordTrackingEvent.id)).size).toBe(1);
    expect((await history(s.id)).events.totalCount).toBe(1);
  });

  test('a repeat finishes the shipment update of a first attempt that was cut short', async () => {
    const s = await createShipment(kit);
    const input = { shipmentId: s.id, clientEventId: 'crash-key', occurredAt: minutesAgo(5), status: 'IN_TRANSIT', message: 'Departed' };
    const first = await kit.gql(RECORD, { input });
    // As if the process died after storing the event and before updating the shipment.
    const db = kit.stores.forRegion().db!;
    await db.collection('tracking_events').updateOne({ _id: first.data.recordTrackingEvent.id } as never, { $set: { processed: false } });
    await db.collection('shipments').updateOne({ _id: s.id } as never, { $set: { status: 'PENDING', statusDetail: null, progressRank: 0, lastAppliedAt: null } });
    const again = await kit.gql(RECORD, { input });
    expect(again.data.recordTrackingEvent.id).toBe(first.data.recordTrackingEvent.id);
    expect(await history(s.id)).toMatchObject({ status: 'IN_TRANSIT', statusDetail: 'Departed', events: { totalCount: 1 } });
    const stored = await db.collection('tracking_events').findOne({ _id: first.data.recordTrackingEvent.id } as never);
    expect(stored).toMatchObject({ processed: true, statusApplied: true });
  });

  test('the same key on another shipment is another event', async () => {
    const a = await createShipment(kit);
    const b = await createShipment(kit);
    const input = { clientEventId: 'shared-key', occurredAt: minutesAgo(3), status: 'LABEL_CREATED' };
    const ra = await kit.gql(RECORD, { input: { ...input, shipmentId: a.id } });
    const rb = await kit.gql(RECORD, { input: { ...input, shipmentId: b.id } });
    expect(ra.data.recordTrackingEvent.id).not.toBe(rb.data.recordTrackingEvent.id);
  });

  test('a late event is stored and listed in occurredAt order but never moves the status back', async () => {
    const s = await createShipment(kit);
    await recordEvent(kit, s.id, 'LABEL_CREATED', -120);
    await recordEvent(kit, s.id, 'OUT_FOR_DELIVERY', -30);
    const late = await recordEvent(kit, s.id, 'IN_TRANSIT', -60, { rawCarrierCode: 'X-LATE', subStatus: { code: 'late_sync', actionRequired: false } });
    expect(late.errors).toBeUndefined();
    const h = await history(s.id);
    expect(h.status).toBe('OUT_FOR_DELIVERY');
    expect(h.statusDetail).toBe('OUT_FOR_DELIVERY at -30');
    expect(h.events.edges.map((e: any) => e.node.status)).toEqual(['OUT_FOR_DELIVERY', 'IN_TRANSIT', 'LABEL_CREATED']);
    expect(h.events.edges[1].node).toMatchObject({ rawCarrierCode: 'X-LATE', subStatus: { code: 'late_sync' } });
    // Even a late "forward" event does not apply: it happened before the latest applied one.
    await recordEvent(kit, s.id, 'DELIVERED', -45);
    expect((await history(s.id)).status).toBe('OUT_FOR_DELIVERY');
  });

  test('a newer backward event is stored without moving the status; exceptions apply; final states hold', async () => {
    const s = await createShipment(kit);
    await recordEvent(kit, s.id, 'OUT_FOR_DELIVERY', -50);
    await recordEvent(kit, s.id, 'IN_TRANSIT', -40);
    expect((await history(s.id)).status).toBe('OUT_FOR_DELIVERY');
    await recordEvent(kit, s.id, 'EXCEPTION', -30, { subStatus: { code: 'damaged', text: 'Parcel damaged', actionRequired: true } });
    expect((await history(s.id)).status).toBe('EXCEPTION');
    await recordEvent(kit, s.id, 'DELIVERED', -20);
    await recordEvent(kit, s.id, 'IN_TRANSIT', -10);
    expect((await history(s.id)).status).toBe('DELIVERED');
    await recordEvent(kit, s.id, 'RETURN_TO_SENDER', -5);
    const h = await history(s.id);
    expect(h.status).toBe('RETURN_TO_SENDER');
    expect(h.events.totalCount).toBe(6);
  });

  test('an ETA with the event updates eta and keeps originalEta', async () => {
    const s = await createShipment(kit);
    await recordEvent(kit, s.id, 'IN_TRANSIT', -10, { eta: '2030-01-11T08:00:00Z' });
    expect(await history(s.id)).toMatchObject({ eta: '2030-01-11T08:00:00.000Z', originalEta: '2030-01-10T12:00:00.000Z' });
    await recordEvent(kit, s.id, 'LABEL_CREATED', -60, { eta: '2030-01-09T08:00:00Z' });
    expect((await history(s.id)).eta).toBe('2030-01-11T08:00:00.000Z');
  });

  test('a proof of delivery comes with the delivery and the last attempt wins', async () => {
    const s = await createShipment(kit);
    await recordEvent(kit, s.id, 'ATTEMPT_FAILED', -60, { proofOfDelivery: { outcome: 'FAILED', failureReason: 'RECIPIENT_ABSENT', capturedAt: minutesAgo(60), photoRefs: ['demo://p/1.jpg'] } });
    expect((await history(s.id)).proofOfDelivery).toMatchObject({ outcome: 'FAILED', failureReason: 'RECIPIENT_ABSENT', scannedBarcodes: [], pinVerified: false });
    const capturedAt = minutesAgo(10);
    const delivered = await recordEvent(kit, s.id, 'DELIVERED', -10, {
      proofOfDelivery: { outcome: 'SUCCEEDED', signerName: 'Test Signer', signerRelationship: 'NEIGHBOUR', scannedBarcodes: ['376123450000000017'], pinVerified: true, capturedAt, geo: { latitude: 52.5, longitude: 13.4 } },
    });
    expect(delivered.errors).toBeUndefined();
    const h = await history(s.id);
    expect(h.status).toBe('DELIVERED');
    expect(h.proofOfDelivery).toMatchObject({ outcome: 'SUCCEEDED', signerName: 'T*** S***', scannedBarcodes: ['376123450000000017'], pinVerified: true, deviceId: null, geo: { latitude: 52.5 } });
    expect((await revealed(kit, s.id)).proofOfDelivery).toMatchObject({ signerName: 'Test Signer', geo: { latitude: 52.5, longitude: 13.4 } });
    expect(Date.parse(h.proofOfDelivery.retainUntil) - Date.parse(capturedAt)).toBe(30 * 24 * 60 * 60 * 1000);
    // An older proof arriving late does not replace the newer one.
    await recordEvent(kit, s.id, 'ATTEMPT_FAILED', -30, { proofOfDelivery: { outcome: 'FAILED', failureReason: 'NO_ACCESS', capturedAt: minutesAgo(30) } });
    expect((await history(s.id)).proofOfDelivery.outcome).toBe('SUCCEEDED');
  });

  test.each([
    ['a proof with an IN_TRANSIT event', 'IN_TRANSIT', { proofOfDelivery: { outcome: 'SUCCEEDED', capturedAt: minutesAgo(1) } }, 'proofOfDelivery'],
    ['a failed proof without reason', 'ATTEMPT_FAILED', { proofOfDelivery: { outcome: 'FAILED', capturedAt: minutesAgo(1) } }, 'proofOfDelivery.failureReason'],
    ['a failed outcome with DELIVERED', 'DELIVERED', { proofOfDelivery: { outcome: 'FAILED', failureReason: 'X', capturedAt: minutesAgo(1) } }, 'proofOfDelivery.outcome'],
    ['a time in the future', 'IN_TRANSIT', { occurredAt: new Date(Date.now() + 3_600_000).toISOString() }, 'occurredAt'],
    ['a key with spaces', 'IN_TRANSIT', { clientEventId: 'not a uuid' }, 'clientEventId'],
    ['an offset out of range', 'IN_TRANSIT', { utcOffsetMinutes: 900 }, 'utcOffsetMinutes'],
  ])('refuses %s with BAD_USER_INPUT', async (_what, status, extra, field) => {
    const s = await createShipment(kit);
    const res = await recordEvent(kit, s.id, status, -1, extra);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0].extensions!.field).toBe(field);
  });

  test('refuses an empty key (@length min 1) and a key over 255 characters with BAD_USER_INPUT before the resolver runs', async () => {
    const s = await createShipment(kit);
    const empty = await recordEvent(kit, s.id, 'IN_TRANSIT', -1, { clientEventId: '' });
    expect(empty.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOO_SHORT', argument: 'input.clientEventId', min: 1 });
    const long = await recordEvent(kit, s.id, 'IN_TRANSIT', -1, { clientEventId: 'k'.repeat(256) });
    expect(long.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOO_LONG', argument: 'input.clientEventId', max: 255 });
    expect((await history(s.id)).events.totalCount).toBe(0);
  });

  test('refuses a latitude out of range at coercion (Latitude scalar), naming the path', async () => {
    const s = await createShipment(kit);
    const res = await recordEvent(kit, s.id, 'IN_TRANSIT', -1, { coordinates: { latitude: 91, longitude: 0 } });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0].message).toContain('at "input.coordinates.latitude"');
  });

  test('answers NOT_FOUND for another tenant’s shipment and an unknown one, and needs a caller', async () => {
    const s = await createShipment(kit);
    expect(codes(await recordEvent(kit, s.id, 'IN_TRANSIT', -1, {}, adminB))).toEqual(['NOT_FOUND']);
    expect(codes(await recordEvent(kit, '000000000000000000000000', 'IN_TRANSIT', -1))).toEqual(['NOT_FOUND']);
    expect(codes(await recordEvent(kit, s.id, 'IN_TRANSIT', -1, {}, anonymous))).toEqual(['UNAUTHENTICATED']);
    expect((await history(s.id)).events.totalCount).toBe(0);
  });

  test('audits the event without personal data', async () => {
    const s = await createShipment(kit);
    await recordEvent(kit, s.id, 'DELIVERED', -1, { location: { postalCode: '10115', city: 'Berlin' }, proofOfDelivery: { outcome: 'SUCCEEDED', signerName: 'Private Person', capturedAt: minutesAgo(1) } });
    const event = kit.audit.events.find((e) => e.type === 'tracking_event.recorded' && e.target === `Shipment:${s.id}`);
    expect(event?.details).toMatchObject({ status: 'DELIVERED', statusApplied: true, proofOfDelivery: true });
    expect(JSON.stringify(event)).not.toMatch(/Private Person|10115/);
  });
});

describe('Shipment.events pages', () => {
  test('walk a seeded history newest first without overlap, with totalCount on every page', async () => {
    const s = plan.shipments[6];
    const all = await history(s.id, 100);
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = (await history(s.id, 3, after)).events;
      expect(page.totalCount).toBe(all.events.totalCount);
      seen.push(...page.edges.map((e: any) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(all.events.edges.map((e: any) => e.node.id));
    const times = all.events.edges.map((e: any) => Date.parse(e.node.occurredAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  test('refuse a bad cursor and first above 100', async () => {
    const id = plan.shipments[0].id;
    expect(codes(await kit.gql(HISTORY, { id, after: 'nope' }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await kit.gql(HISTORY, { id, first: 101 }))).toEqual(['BAD_USER_INPUT']);
  });

  test('first: 0 gives the count and no events', async () => {
    const page = (await history(plan.shipments[0].id, 0)).events;
    expect(page.edges).toEqual([]);
    expect(page.totalCount).toBeGreaterThan(0);
  });
});

const TRACK = /* GraphQL */ `
  query Track($n: String!, $t: String!) {
    trackShipment(trackingNumber: $n, token: $t) {
      carrier status statusDetail eta
      events { occurredAt status message location { city region countryIso3 } }
    }
  }
`;

describe('trackShipment (public)', () => {
  test('shows status, ETA and events with city, region and country to anyone holding the token', async () => {
    const s = await createShipment(kit);
    await recordEvent(kit, s.id, 'IN_TRANSIT', -5, { location: { city: 'Leipzig', region: 'Saxony', postalCode: '04109', countryIso3: 'DEU' }, coordinates: { latitude: 1, longitude: 1 } });
    const res = await kit.gql(TRACK, { n: s.trackingNumber.toLowerCase(), t: s.publicTrackingToken }, anonymous);
    expect(res.errors).toBeUndefined();
    expect(res.data.trackShipment).toEqual({
      carrier: 'DHL',
      status: 'IN_TRANSIT',
      statusDetail: 'IN_TRANSIT at -5',
      eta: '2030-01-10T12:00:00.000Z',
      events: [{ occurredAt: expect.any(String), status: 'IN_TRANSIT', message: 'IN_TRANSIT at -5', location: { city: 'Leipzig', region: 'Saxony', countryIso3: 'DEU' } }],
    });
  });

  test('has no personal fields to ask for', async () => {
    const res = await kit.gql(`{ trackShipment(trackingNumber: "X", token: "Y") { recipient { name } events { location { postalCode } } } }`, undefined, anonymous);
    expect(codes(res)).toEqual(['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_VALIDATION_FAILED']);
  });

  test('answers null alike for a wrong token, an unknown number and a malformed one', async () => {
    const s = await createShipment(kit);
    const wrong = await kit.gql(TRACK, { n: s.trackingNumber, t: 'AAAAAAAAAAAAAAAAAAAAAA' }, anonymous);
    const unknown = await kit.gql(TRACK, { n: 'NOPE0000000000', t: s.publicTrackingToken }, anonymous);
    const junk = await kit.gql(TRACK, { n: '!!', t: 'x'.repeat(128) }, anonymous);
    for (const r of [wrong, unknown, junk]) {
      expect(r.errors).toBeUndefined();
      expect(r.data).toEqual({ trackShipment: null });
    }
  });

  test('refuses a token or number over its @length before any lookup (the limits are public in the SDL)', async () => {
    const token = await kit.gql(TRACK, { n: 'NOPE0000000000', t: 'x'.repeat(5000) }, anonymous);
    expect(token.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOO_LONG', argument: 'token', max: 128 });
    const number = await kit.gql(TRACK, { n: '1'.repeat(81), t: 'x' }, anonymous);
    expect(number.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOO_LONG', argument: 'trackingNumber', max: 80 });
  });

  test('another shipment’s token does not open a shipment', async () => {
    const a = await createShipment(kit);
    const b = await createShipment(kit);
    expect((await kit.gql(TRACK, { n: a.trackingNumber, t: b.publicTrackingToken }, anonymous)).data.trackShipment).toBeNull();
  });

  test('picks the shipment the token belongs to when carriers recycled the number', async () => {
    const first = await createShipment(kit);
    const second = await createShipment(kit, { trackingNumber: first.trackingNumber, carrier: 'UPS' });
    const res = await kit.gql(TRACK, { n: first.trackingNumber, t: second.publicTrackingToken }, anonymous);
    expect(res.data.trackShipment.carrier).toBe('UPS');
  });

  test('opens the seeded demo shipments with the printed demo tokens', async () => {
    const links = demoTrackingLinks(plan);
    expect(links).toHaveLength(3);
    for (const link of links) {
      const res = await kit.gql(TRACK, { n: link.trackingNumber, t: link.token }, anonymous);
      expect(res.data.trackShipment).toMatchObject({ carrier: link.carrier, status: link.status });
      expect(res.data.trackShipment.events.length).toBeGreaterThanOrEqual(3);
    }
  });

  test('works for an authenticated caller of another tenant too: the token is the authorisation', async () => {
    const link = demoTrackingLinks(plan)[0];
    const res = await kit.gql(TRACK, { n: link.trackingNumber, t: link.token }, adminB);
    expect(res.data.trackShipment).not.toBeNull();
    expect(adminA.kind).toBe('user');
  });
});
