/**
 * The PII map says a path is encrypted at rest only if it is: every stored
 * path lib/pii/storage.ts declares `encrypted: true` is read back raw from
 * the database (the driver, not mongoose) after seeding and after writes
 * through GraphQL, and holds nothing but envelopes (or null); the values
 * written are nowhere in the stored bytes.
 */
import { isEnvelope, valueAtPath as valueAt } from '../../lib/crypto/model-encryption';
import { PII_STORAGE } from '../../lib/pii';
import { SUBGRAPH_NAMES } from '../../schema';
import { startSubgraph, type SubgraphKit } from '../kit/subgraph';
import { adminA, CREATE, RECORD, shipmentInput, uniqueTrackingNumber } from '../subgraphs/shipment/kit';

async function assertEncryptedAtRest(kit: SubgraphKit, subgraph: (typeof SUBGRAPH_NAMES)[number]): Promise<number> {
  let checked = 0;
  const db = kit.stores.forRegion().db!;
  for (const p of PII_STORAGE[subgraph].filter((x) => x.encrypted)) {
    const docs = await db.collection(p.collection).find({}).toArray();
    for (const doc of docs) {
      const v = valueAt(doc, p.path);
      if (v === undefined || v === null) continue;
      if (!isEnvelope(v)) throw new Error(`${p.collection}.${p.path} of ${String(doc._id)} is stored in clear`);
      checked++;
    }
  }
  return checked;
}

describe.each(SUBGRAPH_NAMES.filter((n) => PII_STORAGE[n].some((p) => p.encrypted)))('%s: paths declared encrypted are envelopes at rest', (name) => {
  let kit: SubgraphKit;
  beforeAll(async () => {
    kit = await startSubgraph(name, { seed: true });
  });
  afterAll(() => kit.stop());

  test('after seeding the demo data', async () => {
    expect(await assertEncryptedAtRest(kit, name)).toBeGreaterThan(0);
  });

  if (name === 'shipment') {
    test('after createShipment, updateShipmentDetails and a proof of delivery through GraphQL; the values are nowhere in the stored bytes', async () => {
      const secret = { name: 'Wilhelmina Snodgrass-Tull', email: 'w.snodgrass@example.org', phone: '+4915112345678', line1: '77 Quillon Passage', notes: 'Leave with the lighthouse keeper' };
      const created = await kit.gql(CREATE, { input: shipmentInput({ trackingNumber: uniqueTrackingNumber(), recipient: { name: secret.name, email: secret.email, phone: secret.phone } }) }, adminA);
      expect(created.errors).toBeUndefined();
      const id = created.data.createShipment.id as string;
      const updated = await kit.gql(
        /* GraphQL */ `mutation($id: ID!, $input: UpdateShipmentDetailsInput!) { updateShipmentDetails(id: $id, input: $input) { id } }`,
        { id, input: { deliveryNotes: secret.notes, destination: { line1: secret.line1, city: 'Hamburg', postalCode: '20095', countryIso3: 'DEU' } } },
        adminA,
      );
      expect(updated.errors).toBeUndefined();
      const recorded = await kit.gql(
        RECORD,
        {
          input: {
            shipmentId: id,
            clientEventId: `evt-${uniqueTrackingNumber()}`,
            occurredAt: new Date().toISOString(),
            status: 'DELIVERED',
            coordinates: { latitude: 53.55, longitude: 9.99 },
            location: { city: 'Hamburg', postalCode: '20095', countryIso3: 'DEU' },
            proofOfDelivery: { outcome: 'SUCCEEDED', signerName: secret.name, capturedAt: new Date().toISOString(), geo: { latitude: 53.55, longitude: 9.99 }, photoRefs: ['demo://p/secret.jpg'] },
          },
        },
        adminA,
      );
      expect(recorded.errors).toBeUndefined();
      expect(await assertEncryptedAtRest(kit, name)).toBeGreaterThan(0);
      const db = kit.stores.forRegion().db!;
      const stored = JSON.stringify([await db.collection('shipments').findOne({ _id: id as never }), await db.collection('tracking_events').find({ shipmentId: id }).toArray()]);
      for (const value of Object.values(secret)) expect(stored).not.toContain(value);
      expect(stored).not.toContain('secret.jpg');
    });
  }
});
