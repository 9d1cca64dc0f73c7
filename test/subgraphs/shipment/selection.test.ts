/**
 * Selection-driven reads (subgraphs/shipment/selection.ts): a personal field
 * no part of the operation selects is neither fetched nor decrypted, and
 * answers stay exactly what they were. A shipment's personal values are one
 * document envelope: read and opened once when any of them is selected,
 * not read at all when none is.
 *
 * Which values are decrypted is observed through the plugin's own hook, not
 * a spy: one shipment's recipient is crypto-shredded, so every attempt to
 * decrypt its envelope (reported as `shipments.pii`, once per read) or one
 * of its events' values is reported to `onUnreadable` with its path, and
 * nothing else is. A second shipment keeps its key and shows that selected
 * values still arrive, masked.
 *
 * The planner itself is checked on parsed operations against the
 * subgraph's schema: projections, events' fields, and the cases that must
 * read whole documents.
 */
import { buildSubgraphSchema } from '@apollo/subgraph';
import { Kind, parse, validate, type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import mongoose from 'mongoose';
import { bindFieldCrypto, fieldCryptoOf, type UnreadableField } from '../../../lib/crypto/model-encryption';
import { shredSubject } from '../../../lib/crypto/shred';
import { maskEmail, maskPersonName, maskPostalCode, MASK } from '../../../lib/pii/masking';
import { loadSubgraphTypeDefs } from '../../../schema';
import { createModels } from '../../../subgraphs/shipment/model';
import { ReadPlanner, stripPaths } from '../../../subgraphs/shipment/selection';
import { createShipment, recordEvent, revealed, startKit, type Kit } from './kit';

// ------------------------------------------------------------------ the planner

const typeDefs = loadSubgraphTypeDefs('shipment');
const schema = buildSubgraphSchema({ typeDefs });
const conn = mongoose.createConnection();
const planner = new ReadPlanner(createModels(conn));

afterAll(() => conn.close());

function infoOf(source: string, against: GraphQLSchema = schema) {
  const doc = parse(source);
  expect(validate(against, doc)).toEqual([]);
  const operation = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const fragments = Object.fromEntries(doc.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]));
  return { schema: against, operation, fragments };
}

const BOOKKEEPING = { progressRank: 0, lastAppliedAt: 0, publicTokenHash: 0, rev: 0, bidx: 0 };
// The shipment's document envelope, out of a plan that selects no personal value.
const NO_ENVELOPE = { pii: 0 };
const EVENT_ALWAYS = ['_id', 'tenantId', 'shipmentId', 'recipientSubjectId', 'occurredAt'];

describe('ReadPlanner', () => {
  test('a list without personal fields leaves every encrypted field and the bookkeeping out, and keeps what policies read', () => {
    const plan = planner.plan(
      infoOf(`query List($first: Int!) { shipments(first: $first) { totalCount edges { node { id trackingNumber carrier status tenantId
        events(first: 3) { edges { node { status occurredAt } } } } } } }`),
    );
    expect(plan.shipments).toEqual({ ...BOOKKEEPING, ...NO_ENVELOPE, origin: 0, destination: 0, recipient: 0, deliveryNotes: 0, proofOfDelivery: 0 });
    // Exclusions only: tenant, region, data tags, subject, status, dates all come back.
    expect(Object.values(plan.shipments!).every((v) => v === 0)).toBe(true);
    expect([...plan.events.fields].sort()).toEqual([...EVENT_ALWAYS, 'status'].sort());
    expect(plan.events.strip).toEqual([]);
  });

  test('without a personal value selected, objects holding encrypted fields are read whole (they hold none of them) and the envelope is left out', () => {
    const plan = planner.plan(infoOf(`{ shipments { edges { node { id destination { city countryIso3 } proofOfDelivery { outcome } } } } }`));
    expect(plan.shipments).toEqual({ ...BOOKKEEPING, ...NO_ENVELOPE, origin: 0, recipient: 0, deliveryNotes: 0 });
  });

  test('an embedded field read in part is an inclusion of its other subfields, never of the unselected encrypted ones', () => {
    const plan = planner.plan(infoOf(`{ shipments { edges { node { id destination { city countryIso3 postalCode } proofOfDelivery { outcome } } } } }`));
    const p = plan.shipments!;
    expect(p).toMatchObject({ _id: 1, tenantId: 1, region: 1, dataTags: 1, recipientSubjectId: 1, status: 1, createdAt: 1, parcels: 1 });
    expect(p).toMatchObject({ 'destination.city': 1, 'destination.region': 1, 'destination.countryIso3': 1, 'destination.postalCode': 1, 'proofOfDelivery.outcome': 1, 'proofOfDelivery.capturedAt': 1, pii: 1 });
    for (const absent of ['destination', 'destination.line1', 'destination.line2', 'origin', 'recipient', 'deliveryNotes', 'proofOfDelivery.signerName', 'proofOfDelivery.geo', 'publicTokenHash', 'rev'])
      expect(p).not.toHaveProperty([absent]);
    expect(Object.values(p).every((v) => v === 1)).toBe(true);
  });

  test('fragments and inline fragments count, on concrete and abstract types, union over the whole operation', () => {
    const plan = planner.plan(
      infoOf(`query Mixed($id: ID!, $r: [_Any!]!) {
        a: shipments { edges { node { ...Card } } }
        b: shipment(id: $id) { ... on Shipment { deliveryNotes } }
        c: _entities(representations: $r) { ... on Shipment { origin { ...Line } } ...Ent }
      }
      fragment Card on Shipment { id recipient { ...Who } }
      fragment Who on Contact { email }
      fragment Line on Address { line1 }
      fragment Ent on _Entity { ... on Shipment { latestEvent { location { postalCode } } } }`),
    );
    const p = plan.shipments!;
    expect(p).toMatchObject({ 'recipient.email': 1, deliveryNotes: 1, 'origin.line1': 1, 'origin.city': 1, pii: 1 });
    for (const absent of ['recipient.name', 'recipient.phone', 'origin.line2', 'origin.postalCode', 'destination', 'proofOfDelivery']) expect(p).not.toHaveProperty([absent]);
    expect(plan.events.fields).toContain('location');
    expect(plan.events.fields).not.toContain('coordinates');
    expect(plan.events.strip).toEqual([]);
  });

  test('events: location without its postal code keeps the location and strips the code before decryption; unselected fields stay out', () => {
    const plan = planner.plan(infoOf(`{ shipment(id: "x") { latestEvent { id message location { city } } } }`));
    expect([...plan.events.fields].sort()).toEqual([...EVENT_ALWAYS, 'message', 'location'].sort());
    expect(plan.events.strip).toEqual(['location.postalCode']);
    const events = [{ location: { city: 'Berlin', postalCode: 'sealed' } }, { location: null }, {}];
    stripPaths(events, plan.events.strip);
    expect(events).toEqual([{ location: { city: 'Berlin' } }, { location: null }, {}]);
  });

  test('a selected field with nothing but __typename is read whole (null must stay distinguishable)', () => {
    const plan = planner.plan(infoOf(`{ shipments { edges { node { recipient { __typename } } } } }`));
    // The recipient is stored (empty: its fields live in the envelope), the envelope is not read.
    expect(plan.shipments).toEqual({ ...BOOKKEEPING, ...NO_ENVELOPE, origin: 0, destination: 0, deliveryNotes: 0, proofOfDelivery: 0 });
  });

  test.each([
    ['a mutation (reveal)', `mutation { revealShipment(id: "x", reason: "r") { shipment { id events { edges { node { id } } } } } }`],
    ['a mutation (write)', `mutation { updateShipmentDetails(id: "x", input: { eta: "2030-01-01T00:00:00Z" }) { id } }`],
  ])('%s reads whole documents', (_what, source) => {
    const plan = planner.plan(infoOf(source));
    expect(plan).toBe(planner.full);
    expect(plan.shipments).toBeUndefined();
  });

  test('a Shipment field the planner does not know reads whole documents', () => {
    const extended: DocumentNode = { kind: Kind.DOCUMENT, definitions: [...typeDefs.definitions, ...parse('extend type Shipment { recipientInitials: String }').definitions] };
    const plan = planner.plan(infoOf(`{ shipments { edges { node { id recipientInitials } } } }`, buildSubgraphSchema({ typeDefs: extended })));
    expect(plan).toBe(planner.full);
  });

  test('an operation is planned once (Apollo reuses its parsed document)', () => {
    const info = infoOf(`{ shipments { edges { node { id } } } }`);
    expect(planner.plan(info)).toBe(planner.plan(info));
  });
});

// ------------------------------------------------------------------ over HTTP, with the plugin's hook

describe('reads over HTTP', () => {
  let kit: Kit;
  let kept: any;
  let erased: any;
  const unreadable: UnreadableField[] = [];
  const LIST = `{ shipments(first: 10) { edges { node { id status events(first: 3) { edges { node { status occurredAt } } } latestEvent { id } } } } }`;

  /** Runs `query` and returns its data and the stored paths it tried to decrypt (as `collection.path`, sorted, unique). */
  async function read(query: string, variables?: Record<string, unknown>): Promise<{ data: any; tried: string[] }> {
    unreadable.length = 0;
    const res = await kit.gql(query, variables);
    expect(res.errors).toBeUndefined();
    return { data: res.data, tried: [...new Set(unreadable.map((f) => `${f.collection}.${f.path}`))].sort() };
  }

  beforeAll(async () => {
    kit = await startKit();
    const conn = kit.stores.forRegion();
    const crypto = fieldCryptoOf(conn)!;
    bindFieldCrypto(conn, { ...crypto, onUnreadable: (f) => unreadable.push(f) });
    for (const which of ['kept', 'erased']) {
      const s = await createShipment(kit);
      for (const [i, status] of ['IN_TRANSIT', 'OUT_FOR_DELIVERY'].entries()) {
        const res = await recordEvent(kit, s.id, status, -60 + i * 10, {
          location: { city: 'Berlin', postalCode: '10115', countryIso3: 'DEU' },
          coordinates: { latitude: 52.52001, longitude: 13.40495 },
        });
        expect(res.errors).toBeUndefined();
      }
      const delivered = await recordEvent(kit, s.id, 'DELIVERED', -5, {
        proofOfDelivery: { outcome: 'SUCCEEDED', signerName: 'Jo Bloggs', geo: { latitude: 52.52, longitude: 13.4 }, capturedAt: new Date(Date.now() - 5 * 60_000).toISOString() },
      });
      expect(delivered.errors).toBeUndefined();
      if (which === 'kept') kept = s;
      else erased = s;
    }
    await shredSubject(crypto.vault, { tenantId: erased.tenantId, subjectId: erased.recipientSubjectId });
  }, 30_000);

  afterAll(() => kit?.stop());

  test('the hook sees every decryption: selecting the recipient of the shredded shipment opens its envelope once, and nothing else', async () => {
    const { data, tried } = await read(`{ shipments(first: 10) { edges { node { id recipient { name } } } } }`);
    expect(tried).toEqual(['shipments.pii']);
    expect(unreadable.filter((f) => f.documentId === erased.id)).toHaveLength(1);
    const byId = new Map(data.shipments.edges.map((e: any) => [e.node.id, e.node]));
    expect(byId.get(erased.id)).toEqual({ id: erased.id, recipient: { name: null } });
    // createShipment answered masked too: the same masked name.
    expect(byId.get(kept.id)).toEqual({ id: kept.id, recipient: { name: kept.recipient.name } });
    expect(kept.recipient.name).toBe(maskPersonName('Test Recipient'));
  });

  test('a list with events that selects no personal field decrypts nothing', async () => {
    const { data, tried } = await read(LIST);
    expect(tried).toEqual([]);
    const node = data.shipments.edges.find((e: any) => e.node.id === kept.id).node;
    expect(node.events.edges.map((e: any) => e.node.status)).toEqual(['DELIVERED', 'OUT_FOR_DELIVERY', 'IN_TRANSIT']);
    expect(node.latestEvent.id).toEqual(expect.any(String));
  });

  test('a personal field selected through fragments is read and masked (the envelope opened once); its unselected siblings are not in the answer', async () => {
    const { data, tried } = await read(`query { shipments(first: 10) { edges { node { ...Card } } } }
      fragment Card on Shipment { id ... on Shipment { recipient { ...Mail } destination { city } } }
      fragment Mail on Contact { email }`);
    expect(tried).toEqual(['shipments.pii']);
    const node = data.shipments.edges.find((e: any) => e.node.id === kept.id).node;
    expect(node).toEqual({ id: kept.id, recipient: { email: kept.recipient.email }, destination: { city: 'Berlin' } });
    expect(kept.recipient.email).toBe(maskEmail(kept.recipient.email));
  });

  test('events: a location without its postal code decrypts nothing; postal code and position are decrypted when selected, and masked', async () => {
    const cityOnly = await read(`{ shipments(first: 10) { edges { node { id events(first: 5) { edges { node { location { city countryIso3 } } } } } } } }`);
    expect(cityOnly.tried).toEqual([]);
    const withPii = await read(`{ shipments(first: 10) { edges { node { id events(first: 5) { edges { node { location { postalCode } coordinates { latitude } } } } } } } }`);
    expect(withPii.tried).toEqual(['tracking_events.coordinates', 'tracking_events.location.postalCode']);
    const events = withPii.data.shipments.edges.find((e: any) => e.node.id === kept.id).node.events.edges.map((e: any) => e.node);
    expect(events.filter((e: any) => e.location)).toEqual([
      { location: { postalCode: maskPostalCode('10115') }, coordinates: { latitude: 52.5 } },
      { location: { postalCode: maskPostalCode('10115') }, coordinates: { latitude: 52.5 } },
    ]);
  });

  test('_entities without personal fields decrypts nothing; with them, exactly those, masked', async () => {
    const r = [kept, erased].map((s) => ({ __typename: 'Shipment', id: s.id }));
    const plain = await read(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Shipment { id status tenantId recipientSubjectId } } }`, { r });
    expect(plain.tried).toEqual([]);
    expect(plain.data._entities.map((e: any) => e.id)).toEqual([kept.id, erased.id]);
    const pii = await read(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Shipment { id deliveryNotes destination { postalCode } proofOfDelivery { outcome signerName } } } }`, { r });
    expect(pii.tried).toEqual(['shipments.pii']);
    expect(pii.data._entities[0]).toEqual({ id: kept.id, deliveryNotes: MASK, destination: { postalCode: maskPostalCode('10115') }, proofOfDelivery: { outcome: 'SUCCEEDED', signerName: maskPersonName('Jo Bloggs') } });
    expect(pii.data._entities[1]).toEqual({ id: erased.id, deliveryNotes: null, destination: { postalCode: null }, proofOfDelivery: { outcome: 'SUCCEEDED', signerName: null } });
  });

  test('one field selecting the recipient and another not: both answers are right (the plan is the union)', async () => {
    for (const query of [
      `query($id: ID!) { list: shipments(first: 10) { edges { node { id status } } } one: shipment(id: $id) { id recipient { name } } }`,
      `query($id: ID!) { one: shipment(id: $id) { id recipient { name } } list: shipments(first: 10) { edges { node { id status recipient { phone } } } } }`,
    ]) {
      const { data } = await read(query, { id: kept.id });
      expect(data.one).toEqual({ id: kept.id, recipient: { name: kept.recipient.name } });
      expect(data.list.edges.map((e: any) => e.node.id).sort()).toEqual([kept.id, erased.id].sort());
      const listed = data.list.edges.find((e: any) => e.node.id === kept.id).node;
      if ('recipient' in listed) expect(listed.recipient).toEqual({ phone: kept.recipient.phone });
    }
  });

  test('a tampered envelope: every personal field of the shipment reads null in a query and in a reveal (reported once per read); its other fields stand', async () => {
    // Observed without a spy: a tampered ciphertext is reported and read as null whenever it is opened.
    const s = await createShipment(kit);
    const shipments = kit.stores.forRegion().db!.collection('shipments');
    const stored = (await shipments.findOne({ _id: s.id }))!;
    const bytes = Buffer.from(stored.pii.buffer.subarray(0, stored.pii.position));
    bytes[bytes.length - 1] ^= 1;
    await shipments.updateOne({ _id: s.id }, { $set: { pii: new (stored.pii.constructor as any)(bytes, 0x80) } });
    const plain = await read(`query($id: ID!) { shipment(id: $id) { id status destination { city countryIso3 } recipient { __typename } } }`, { id: s.id });
    expect(plain.tried).toEqual([]);
    expect(plain.data.shipment).toEqual({ id: s.id, status: 'PENDING', destination: { city: 'Berlin', countryIso3: 'DEU' }, recipient: { __typename: 'Contact' } });
    const { data, tried } = await read(`query($id: ID!) { shipment(id: $id) { id deliveryNotes destination { line1 city postalCode } recipient { name } } }`, { id: s.id });
    expect(tried).toEqual(['shipments.pii']);
    expect(unreadable).toEqual([expect.objectContaining({ path: 'pii', documentId: s.id, reason: 'AUTHENTICATION' })]);
    expect(data.shipment).toEqual({ id: s.id, deliveryNotes: null, destination: { line1: null, city: 'Berlin', postalCode: null }, recipient: { name: null } });
    unreadable.length = 0;
    const shown = await revealed(kit, s.id);
    expect({ line1: shown.destination.line1, notes: shown.deliveryNotes, name: shown.recipient.name }).toEqual({ line1: null, notes: null, name: null });
    expect(unreadable.map((f) => [f.path, f.reason])).toEqual([['pii', 'AUTHENTICATION']]);
  });

  test('partial reads leave the stored documents whole, and a reveal (a mutation) reads and shows every value', async () => {
    await read(`{ shipments(first: 10) { edges { node { id destination { city } origin { countryIso3 } proofOfDelivery { outcome } } } } }`);
    const shown = await revealed(kit, kept.id);
    expect(shown.destination).toMatchObject({ line1: '2 Example Street', city: 'Berlin', postalCode: '10115' });
    expect(shown.origin).toMatchObject({ line1: '1 Test Warehouse Way', postalCode: '1011' });
    expect(shown.recipient).toMatchObject({ name: 'Test Recipient', phone: '+15550100999', email: expect.stringMatching(/^test\.recipient@example\.com$/i) });
    expect(shown.deliveryNotes).toBe('Door code 0000 (test)');
    expect(shown.proofOfDelivery).toMatchObject({ outcome: 'SUCCEEDED', signerName: 'Jo Bloggs' });
    expect(shown.events.edges.map((e: any) => e.node.location?.postalCode ?? null)).toEqual([null, '10115', '10115']);
  });
});
