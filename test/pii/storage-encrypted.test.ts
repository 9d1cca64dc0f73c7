/**
 * The PII map says a path is encrypted at rest only if it is: every stored
 * path lib/pii/storage.ts declares `encrypted: true` is read back raw from
 * the database (the driver, not mongoose) after seeding and after writes
 * through GraphQL, and holds nothing but envelopes (or null); the values
 * written are nowhere in the stored bytes.
 *
 * Shipments seal their values in one document envelope: each stored
 * shipment holds exactly one envelope (at `pii`, or none when it has no
 * personal value), nothing at the declared paths, and not one of the
 * values the seed or the writes put in, anywhere in its BSON.
 */
import { encryptedFieldsOf, isEnvelope, valueAtPath as valueAt } from '../../lib/crypto/model-encryption';
import { PII_STORAGE } from '../../lib/pii';
import { SUBGRAPH_NAMES } from '../../schema';
import { createModels } from '../../subgraphs/shipment/model';
import { defaultSeedAnchor, demoShipmentData } from '../../subgraphs/shipment/seed-data';
import { startSubgraph, type SubgraphKit } from '../kit/subgraph';
import { adminA, CREATE, RECORD, shipmentInput, uniqueTrackingNumber } from '../subgraphs/shipment/kit';

/** Every envelope anywhere in a stored document, with where it is. */
function envelopesIn(value: unknown, at = ''): string[] {
  if (isEnvelope(value)) return [at];
  if (Array.isArray(value)) return value.flatMap((v, i) => envelopesIn(v, `${at}.${i}`));
  if (value && typeof value === 'object' && !(value instanceof Date) && !('_bsontype' in value)) return Object.entries(value).flatMap(([k, v]) => envelopesIn(v, at ? `${at}.${k}` : k));
  return [];
}

async function assertEncryptedAtRest(kit: SubgraphKit, subgraph: (typeof SUBGRAPH_NAMES)[number]): Promise<number> {
  let checked = 0;
  const db = kit.stores.forRegion().db!;
  const documentEnvelope = (collection: string) => {
    const spec = Object.values(createModels(kit.stores.forRegion())).map((m) => encryptedFieldsOf(m)).find((s) => s?.collection === collection);
    return spec?.envelope === 'document' ? spec.envelopeField : undefined;
  };
  for (const p of PII_STORAGE[subgraph].filter((x) => x.encrypted)) {
    const envelope = subgraph === 'shipment' ? documentEnvelope(p.collection) : undefined;
    const docs = await db.collection(p.collection).find({}).toArray();
    for (const doc of docs) {
      const v = valueAt(doc, p.path);
      if (envelope) {
        // The path holds nothing; the document holds one envelope, at its envelope field, and no other.
        if (v !== undefined) throw new Error(`${p.collection}.${p.path} of ${String(doc._id)} is stored beside its document envelope`);
        const found = envelopesIn(doc);
        if (found.length > 1 || (found.length === 1 && found[0] !== envelope)) throw new Error(`${p.collection} ${String(doc._id)} holds envelopes at ${found.join(', ')}`);
        checked += found.length;
        continue;
      }
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
    test('seeded shipments: one envelope each, and none of the seeded personal values anywhere in their stored BSON', async () => {
      const db = kit.stores.forRegion().db!;
      const seeded = demoShipmentData(kit.plan, defaultSeedAnchor()).shipments;
      const personal = seeded.flatMap((s) =>
        PII_STORAGE.shipment.filter((p) => p.collection === 'shipments').flatMap((p) => {
          const v = valueAt(s, p.path);
          if (v === null || v === undefined) return [];
          // Values as they would appear in the JSON of the stored document (strings inside arrays and objects too).
          return JSON.stringify(v).match(/"[^"]{4,}"|-?\d+\.\d{3,}/g) ?? [];
        }),
      );
      expect(personal.length).toBeGreaterThan(100);
      const stored = await db.collection('shipments').find({ _id: { $in: seeded.map((s) => s._id) } as never }).toArray();
      expect(stored).toHaveLength(seeded.length);
      for (const doc of stored) {
        expect(envelopesIn(doc)).toEqual(['pii']);
        const text = JSON.stringify(doc);
        for (const v of new Set(personal)) if (text.includes(v)) throw new Error(`shipment ${String(doc._id)} holds the seeded value ${v.length} characters long in clear`);
      }
    });

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
      const shipment = (await db.collection('shipments').findOne({ _id: id as never }))!;
      // One envelope; the objects that held personal fields hold only their plain ones (the recipient none at all).
      expect(envelopesIn(shipment)).toEqual(['pii']);
      expect(shipment.recipient).toEqual({});
      expect(shipment.destination).toEqual({ city: 'Hamburg', region: null, countryIso3: 'DEU' });
      expect(shipment.proofOfDelivery).toMatchObject({ outcome: 'SUCCEEDED' });
      for (const sealed of ['signerName', 'signatureRef', 'photoRefs', 'geo']) expect(shipment.proofOfDelivery).not.toHaveProperty(sealed);
      expect(shipment).not.toHaveProperty('deliveryNotes');
      const stored = JSON.stringify([shipment, await db.collection('tracking_events').find({ shipmentId: id }).toArray()]);
      for (const value of Object.values(secret)) expect(stored).not.toContain(value);
      expect(stored).not.toContain('secret.jpg');
      expect(stored).not.toContain('53.55');
    });
  }
});
