/**
 * Masked by default and the audited reveal in the shipment subgraph, over
 * real HTTP and devdb: what each role reading a shipment sees, who may
 * reveal which class, the audit record every reveal writes (and that no
 * reveal happens without it), tenancy, the reason, and that a reveal never
 * leaks into other reads. Elevations here are as the gateway merges them
 * into the principal (`withElevation`); test/e2e/reveal.test.ts runs the
 * real elevation lifecycle through the gateway.
 */
import type { Principal } from '../../../lib/context';
import { REVEAL_AUDIT_TYPE } from '../../../lib/reveal';
import { seed } from '../../../subgraphs/shipment/seed';
import {
  REVEAL,
  adminA,
  adminB,
  codes,
  createShipment,
  plan,
  reasons,
  recordEvent,
  revealed,
  startKit,
  system,
  tenantA,
  userOf,
  withElevation,
  type Kit,
} from './kit';

let kit: Kit;
let shipment: { id: string };

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
const partnerOfA: Principal = {
  kind: 'user',
  id: plan.apiClient.id,
  tenantId: plan.apiClient.tenantId,
  roles: ['PARTNER'],
  scopes: ['shipments:read', 'events:write', 'tenants:read'],
  subjectType: 'client',
  partnerOf: plan.apiClient.partnerOf,
};

beforeAll(async () => {
  kit = await startKit();
  await seed(kit.stores.forRegion(), plan);
  shipment = await createShipment(kit, {
    recipient: { name: 'Jane Doe', phone: '+442079460958', email: 'jane@example.com' },
    destination: { line1: '221B Baker Street', line2: 'Flat 2', city: 'London', region: 'Greater London', postalCode: 'NW1 6XE', countryIso3: 'GBR' },
    deliveryNotes: 'Door code 4711',
  });
  const delivered = await recordEvent(kit, shipment.id, 'DELIVERED', -5, {
    location: { city: 'London', postalCode: 'NW1 6XE', countryIso3: 'GBR' },
    coordinates: { latitude: 51.52377, longitude: -0.15856 },
    proofOfDelivery: {
      outcome: 'SUCCEEDED',
      signerName: 'John Roe',
      signatureRef: 'sig://reveal-test/john.png',
      photoRefs: ['photo://reveal-test/door.jpg'],
      geo: { latitude: 51.52377, longitude: -0.15856, accuracyMeters: 4 },
      capturedAt: minutesAgo(5),
    },
  });
  if (delivered.errors) throw new Error(JSON.stringify(delivered.errors));
}, 30_000);

afterAll(async () => {
  await kit?.stop();
});

const READ = /* GraphQL */ `
  query Read($id: ID!) {
    shipment(id: $id) {
      id deliveryNotes
      destination { line1 line2 city region postalCode countryIso3 }
      recipient { name phone email }
      proofOfDelivery { signerName signatureRef photoRefs geo { latitude longitude accuracyMeters } }
    }
  }
`;

const MASKED_RECIPIENT = { name: 'J*** D***', phone: '•••• ••• 958', email: 'j***@example.com' };
const CITY_LEVEL = { line1: '•••', line2: '•••', city: 'London', region: 'Greater London', postalCode: 'NW1 •••', countryIso3: 'GBR' };

const reveal = (variables: Record<string, unknown>, principal: Principal) => kit.gql(REVEAL, { id: shipment.id, reason: 'SUP-4711: recipient asks where the parcel is', ...variables }, principal);
const revealsOf = (id: string) => kit.audit.events.filter((e) => e.type === REVEAL_AUDIT_TYPE && e.target === `Shipment:${id}`);

describe('masked by default', () => {
  test.each(['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT', 'DISPATCHER', 'DRIVER'])('%s reads the recipient, address and proof of delivery masked', async (role) => {
    const res = await kit.gql(READ, { id: shipment.id }, userOf(tenantA.id, role));
    expect(res.errors).toBeUndefined();
    expect(res.data.shipment).toEqual({
      id: shipment.id,
      deliveryNotes: '•••',
      destination: CITY_LEVEL,
      recipient: MASKED_RECIPIENT,
      proofOfDelivery: { signerName: 'J*** R***', signatureRef: null, photoRefs: null, geo: { latitude: 51.5, longitude: -0.2, accuracyMeters: 10_000 } },
    });
  });

  test('a partner reads them masked too (the reveal is for people)', async () => {
    const res = await kit.gql(READ, { id: shipment.id }, partnerOfA);
    expect(res.errors).toBeUndefined();
    expect(res.data.shipment).toMatchObject({ deliveryNotes: '•••', recipient: MASKED_RECIPIENT, destination: CITY_LEVEL });
  });

  test('an auditor reads the address and the proof of delivery masked, and no recipient at all', async () => {
    const res = await kit.gql(`query($id: ID!) { shipment(id: $id) { destination { line1 postalCode city } proofOfDelivery { signerName signatureRef } } }`, { id: shipment.id }, userOf(tenantA.id, 'AUDITOR'));
    expect(res.errors).toBeUndefined();
    expect(res.data.shipment).toEqual({ destination: { line1: '•••', postalCode: 'NW1 •••', city: 'London' }, proofOfDelivery: { signerName: 'J*** R***', signatureRef: null } });
  });

  test('lists and _entities are masked, and checkpoint postal codes and positions are coarse', async () => {
    const list = await kit.gql(`{ shipments(first: 100) { edges { node { id recipient { name email } events(first: 1) { edges { node { location { postalCode } coordinates { latitude } } } } } } } }`);
    const mine = list.data.shipments.edges.map((e: any) => e.node).find((n: any) => n.id === shipment.id);
    expect(mine.recipient).toEqual({ name: 'J*** D***', email: 'j***@example.com' });
    expect(mine.events.edges[0].node).toEqual({ location: { postalCode: 'NW1 •••' }, coordinates: { latitude: 51.5 } });
    for (const n of list.data.shipments.edges.map((e: any) => e.node)) expect(n.recipient.name).toMatch(/^(\S\*\*\*( |$))+$/);
    const entities = await kit.gql(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Shipment { recipient { phone } deliveryNotes } } }`, { r: [{ __typename: 'Shipment', id: shipment.id }] });
    expect(entities.data._entities).toEqual([{ recipient: { phone: '•••• ••• 958' }, deliveryNotes: '•••' }]);
  });

  test('a missing value stays null (also one erased by crypto-shredding), masked or revealed', async () => {
    const s = await createShipment(kit, { recipient: { name: 'Solo Person' }, deliveryNotes: null });
    const res = await kit.gql(READ, { id: s.id });
    expect(res.data.shipment).toMatchObject({ deliveryNotes: null, recipient: { name: 'S*** P***', phone: null, email: null }, proofOfDelivery: null });
    expect(await revealed(kit, s.id)).toMatchObject({ deliveryNotes: null, recipient: { name: 'Solo Person', phone: null, email: null }, proofOfDelivery: null });
  });
});

describe('revealShipment', () => {
  test.each(['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT', 'DISPATCHER', 'DRIVER'])('%s reveals the PII with a reason, and the reveal is audited', async (role) => {
    const who = userOf(tenantA.id, role);
    const before = revealsOf(shipment.id).length;
    const res = await reveal({}, who);
    // A DRIVER may not read event positions at all (@auth on TrackingEvent.coordinates), revealed or not.
    if (role === 'DRIVER') expect(res.errors!.map((e) => [e.extensions?.code, e.path?.at(-1)])).toEqual([['FORBIDDEN', 'coordinates']]);
    else expect(res.errors).toBeUndefined();
    const r = res.data.revealShipment;
    expect(r.shipment).toMatchObject({
      deliveryNotes: 'Door code 4711',
      destination: { line1: '221B Baker Street', line2: 'Flat 2', city: 'London', postalCode: 'NW1 6XE' },
      recipient: { name: 'Jane Doe', phone: '+442079460958', email: 'jane@example.com' },
      // SENSITIVE stays masked without `sensitive: true`.
      proofOfDelivery: { signerName: 'John Roe', signatureRef: null, photoRefs: null, geo: { latitude: 51.5, longitude: -0.2 } },
    });
    expect(r.shipment.events.edges[0].node).toMatchObject({ location: { postalCode: 'NW1 6XE' }, coordinates: role === 'DRIVER' ? null : { latitude: 51.5, longitude: -0.2 } });
    expect(r.sensitive).toBe(false);
    expect(r.fields).toEqual([
      'Address.line1',
      'Address.line2',
      'Address.postalCode',
      'Contact.email',
      'Contact.name',
      'Contact.phone',
      'EventLocation.postalCode',
      'ProofOfDelivery.signerName',
      'Shipment.deliveryNotes',
    ]);
    expect(Date.parse(r.expiresAt) - Date.parse(r.revealedAt)).toBe(300_000);

    const records = revealsOf(shipment.id);
    expect(records).toHaveLength(before + 1);
    expect(records.at(-1)).toMatchObject({
      type: 'pii.revealed',
      actor: `user:${who.kind === 'user' ? who.id : ''}`,
      tenantId: tenantA.id,
      target: `Shipment:${shipment.id}`,
      requestId: expect.any(String),
      details: { operation: 'Mutation.revealShipment', fields: r.fields, classes: ['PII'], reason: 'SUP-4711: recipient asks where the parcel is', elevationId: null },
    });
  });

  test('the reveal unmasks only its own answer: the next read is masked again', async () => {
    await revealed(kit, shipment.id);
    expect((await kit.gql(READ, { id: shipment.id })).data.shipment.recipient).toEqual(MASKED_RECIPIENT);
  });

  test.each([
    ['SECURITY_ADMIN', () => userOf(tenantA.id, 'SECURITY_ADMIN')],
    ['AUDITOR', () => userOf(tenantA.id, 'AUDITOR')],
    ['PARTNER', () => partnerOfA],
    ['a system task', () => system],
  ])('is refused to %s (FORBIDDEN), with no audit record', async (_name, who) => {
    const before = revealsOf(shipment.id).length;
    const res = await reveal({}, who());
    expect(codes(res)).toEqual(['FORBIDDEN']);
    expect(res.data ?? null).toBeNull();
    expect(revealsOf(shipment.id)).toHaveLength(before);
  });

  test('answers NOT_FOUND for another tenant’s shipment and an unknown id, without an audit record', async () => {
    const before = kit.audit.events.filter((e) => e.type === REVEAL_AUDIT_TYPE).length;
    const other = await reveal({}, adminB);
    expect(codes(other)).toEqual(['NOT_FOUND']);
    expect(reasons(other)).toEqual(['SHIPMENT_NOT_FOUND']);
    const unknown = await kit.gql(REVEAL, { id: '000000000000000000000000', reason: 'looking' }, adminA);
    expect(codes(unknown)).toEqual(['NOT_FOUND']);
    expect(kit.audit.events.filter((e) => e.type === REVEAL_AUDIT_TYPE)).toHaveLength(before);
  });

  test('needs a reason: empty, blank, too long or with control characters is BAD_USER_INPUT, never echoed', async () => {
    const before = revealsOf(shipment.id).length;
    const empty = await reveal({ reason: '' }, adminA);
    expect(codes(empty)).toEqual(['BAD_USER_INPUT']);
    expect(empty.errors![0].extensions).toMatchObject({ reason: 'TOO_SHORT', argument: 'reason', min: 1 });
    const long = await reveal({ reason: 'x'.repeat(501) }, adminA);
    expect(long.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOO_LONG', argument: 'reason', max: 500 });
    const blank = await reveal({ reason: '  \n ' }, adminA);
    expect(blank.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_INPUT', field: 'reason' });
    const control = await reveal({ reason: 'secret\u0007beep' }, adminA);
    expect(codes(control)).toEqual(['BAD_USER_INPUT']);
    expect(JSON.stringify(control.errors)).not.toContain('secret');
    expect(revealsOf(shipment.id)).toHaveLength(before);
  });

  test('fails without revealing anything when the audit record cannot be written', async () => {
    const record = kit.audit.record;
    kit.audit.record = async () => {
      throw new Error('audit store unavailable');
    };
    try {
      const res = await reveal({}, adminA);
      expect(res.data ?? null).toBeNull();
      expect(codes(res)).toEqual(['INTERNAL_SERVER_ERROR']);
      expect(JSON.stringify(res)).not.toContain('Jane');
    } finally {
      kit.audit.record = record;
    }
  });
});

describe('revealShipment(sensitive: true)', () => {
  test('needs the capable role through an active elevation: ELEVATION_REQUIRED without one', async () => {
    const before = revealsOf(shipment.id).length;
    for (const role of ['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT']) {
      const res = await reveal({ sensitive: true }, userOf(tenantA.id, role));
      expect(codes(res)).toEqual(['ELEVATION_REQUIRED']);
      expect(res.errors![0].message).toBe('An active just-in-time elevation is required to reveal sensitive data');
    }
    // An elevation to some other role or a scope does not count.
    const unrelated = withElevation(userOf(tenantA.id, 'SUPPORT_AGENT'), 'DISPATCHER');
    expect(codes(await reveal({ sensitive: true }, unrelated))).toEqual(['ELEVATION_REQUIRED']);
    expect(revealsOf(shipment.id)).toHaveLength(before);
  });

  test('is FORBIDDEN to roles without the SENSITIVE capability, elevated or not', async () => {
    expect(codes(await reveal({ sensitive: true }, userOf(tenantA.id, 'DISPATCHER')))).toEqual(['FORBIDDEN']);
    expect(reasons(await reveal({ sensitive: true }, withElevation(userOf(tenantA.id, 'DRIVER'), 'DRIVER')))).toEqual(['REVEAL_NOT_PERMITTED']);
  });

  test('with an active elevation reveals the signature, photos and positions, and names the elevation in the audit record', async () => {
    const agent = withElevation(userOf(tenantA.id, 'SUPPORT_AGENT'), 'PRIVACY_OFFICER', 'elevation-42');
    const res = await reveal({ sensitive: true, reason: 'DISPUTE-9: recipient says it never arrived' }, agent);
    expect(res.errors).toBeUndefined();
    const r = res.data.revealShipment;
    expect(r.sensitive).toBe(true);
    expect(r.shipment.proofOfDelivery).toEqual({
      outcome: 'SUCCEEDED',
      signerName: 'John Roe',
      signatureRef: 'sig://reveal-test/john.png',
      photoRefs: ['photo://reveal-test/door.jpg'],
      geo: { latitude: 51.52377, longitude: -0.15856 },
    });
    expect(r.shipment.events.edges[0].node.coordinates).toEqual({ latitude: 51.52377, longitude: -0.15856 });
    expect(r.fields).toEqual(expect.arrayContaining(['ProofOfDelivery.signatureRef', 'ProofOfDelivery.photoRefs', 'ProofOfDelivery.geo', 'TrackingEvent.coordinates', 'Contact.name']));
    expect(revealsOf(shipment.id).at(-1)).toMatchObject({
      actor: `user:${agent.kind === 'user' ? agent.id : ''}`,
      details: { classes: ['PII', 'SENSITIVE'], reason: 'DISPUTE-9: recipient says it never arrived', elevationId: 'elevation-42' },
    });
  });

  test('a PII reveal names an elevation that grants the capability', async () => {
    const auditor = withElevation(userOf(tenantA.id, 'AUDITOR'), 'SUPPORT_AGENT', 'elevation-7');
    const res = await reveal({}, auditor);
    expect(res.errors).toBeUndefined();
    expect(revealsOf(shipment.id).at(-1)!.details).toMatchObject({ classes: ['PII'], elevationId: 'elevation-7' });
  });
});
