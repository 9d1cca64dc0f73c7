/**
 * Erasure propagates: completing an ERASURE request through the privacy
 * subgraph shreds its subject's keys and removes their blind indexes, and
 * the shipment subgraph — another process, with a key cache of its own —
 * reads the subject's personal fields as null once its cache entry expires
 * (DATA_KEY_CACHE_TTL_MS; its vault's clock is moved instead of waiting).
 * Everyone else's data stays; ACCESS, PORTABILITY and REJECTED erase
 * nothing; another tenant's officer gets NOT_FOUND and erases nothing.
 *
 * Two "processes" over one devdb database: the privacy kit (its store and
 * key vault) and a shipment subgraph on a second connection with its own
 * key vault, under the same master key.
 */
import mongoose, { type Connection, type Model } from 'mongoose';
import { loadCryptoConfig } from '../../../lib/crypto';
import { eraseSubject } from '../../../lib/crypto/erasure';
import { KeyVault } from '../../../lib/crypto/key-vault';
import { bindFieldCrypto, blindIndexFilter, decryptDocuments, isEnvelope } from '../../../lib/crypto/model-encryption';
import { MongooseKeyVaultStore, type DataKeyRecord } from '../../../lib/crypto/vault-store';
import type { DataStores } from '../../../lib/db';
import { encryptedModels } from '../../../subgraphs/encrypted-models';
import { createModels as identityModels } from '../../../subgraphs/identity/model';
import { createServices } from '../../../subgraphs/privacy/service';
import { buildShipmentSubgraph } from '../../../subgraphs/shipment/server';
import { createModels as shipmentModels, newId, type ShipmentDoc } from '../../../subgraphs/shipment/model';
import { startSubgraph, type SubgraphKit } from '../../kit/subgraph';
import { adminA, adminB, CREATE, RECORD, REVEAL, shipmentInput, tenantA, tenantB, uniqueTrackingNumber, userOf } from '../shipment/kit';
import { codes, officer, reasons, startPrivacy, type PrivacyKit } from './kit';

const CREATE_DSR = `mutation ($i: CreateDataSubjectRequestInput!) { createDataSubjectRequest(input: $i) { id status legalHolds } }`;
const MOVE = `mutation ($id: ID!, $s: DsrStatus!) { updateDataSubjectRequestStatus(id: $id, status: $s) { id kind status completedAt erasure { executedAt keysDestroyed documentsUnindexed { collection documents } } } }`;
const LOOKUP = `query ($email: String, $phone: String) { shipmentsByRecipientContact(email: $email, phone: $phone) { id tenantId } }`;
const SETTINGS = `query ($s: ID!) { privacySettings(subjectId: $s) { subjectId notificationChannels dataSharing { analytics marketing partners } } }`;
const UPDATE_SETTINGS = `mutation ($s: ID!, $i: PrivacySettingsInput!) { updatePrivacySettings(subjectId: $s, input: $i) { subjectId } }`;
const CUSTOMS = `query ($id: ID!) { shipment(id: $id) { id trackingNumber status customs { hsCode declaredValue currency countryOfOrigin } } }`;

// The default DATA_KEY_CACHE_TTL_MS: how long the shipment process may keep using a key the privacy process shredded.
const TTL_MS = loadCryptoConfig({}, { appEnv: 'production', keysDir: '/nowhere' }).dataKeyCacheTtlMs;

// Emails as stored (normalised to lower case).
const X = { name: 'Xavier Erasmus-Quill', email: 'xavier.eq@example.net', phone: '+447700900111' };
const Y = { name: 'Yolanda Keep-Ward', email: 'yolanda.kw@example.net', phone: '+447700900222' };
const CUSTOMS_X = { hsCode: '611020', declaredValue: 2500, currency: 'EUR', countryOfOrigin: 'NLD' };

let kit: PrivacyKit;
let shipConn: Connection;
let ship: SubgraphKit;
let shipClockOffset = 0;
const supportA = userOf(tenantA.id, 'SUPPORT_AGENT');
const supportB = userOf(tenantB.id, 'SUPPORT_AGENT');
const A = () => officer(kit.plan, 0);
const B = () => officer(kit.plan, 1);

/** The seeded shipments: X has two in tenant A, Y one; tenant B has one whose recipient carries X's subject id and email. */
const ids = { x1: '', x2: '', y: '', bx: '' };
let subjectX = '';
let subjectY = '';

const raw = (collection: string) => kit.stores.forRegion().collection(collection);
const keyRecords = (tenantId: string, subjectId: string) => raw('key_vault').find<DataKeyRecord>({ tenantId, subjectId }).toArray();
const bidxOf = async (id: string) => ((await raw('shipments').findOne({ _id: id as never }))?.bidx ?? {}) as Record<string, string>;

async function gqlOk(k: { gql: SubgraphKit['gql'] }, query: string, variables: Record<string, unknown>, principal: Parameters<SubgraphKit['gql']>[2]) {
  const res = await k.gql(query, variables, principal);
  if (res.errors) throw new Error(`${query.slice(0, 40)}… failed: ${JSON.stringify(res.errors)}`);
  return res.data;
}

async function revealShipment(id: string, principal = adminA): Promise<any> {
  return (await gqlOk(ship, REVEAL, { id, reason: 'PRIV-7: checking erasure', sensitive: false }, principal)).revealShipment.shipment;
}

async function lookup(email: string, principal = supportA): Promise<string[]> {
  return (await gqlOk(ship, LOOKUP, { email }, principal)).shipmentsByRecipientContact.map((s: { id: string }) => s.id);
}

async function createDsr(subjectId: string, kind: string, as = A()): Promise<string> {
  return (await gqlOk(kit, CREATE_DSR, { i: { subjectId, kind } }, as)).createDataSubjectRequest.id;
}

async function move(id: string, status: string, as = A()) {
  return kit.gql(MOVE, { id, s: status }, as);
}

/** A copy of an existing shipment under another id (and tenant), written through the model: encrypted and indexed anew. */
async function cloneShipment(Shipment: Model<ShipmentDoc>, fromId: string, overrides: Partial<ShipmentDoc>): Promise<string> {
  const from = await Shipment.findById(fromId).lean<ShipmentDoc & { bidx?: unknown }>();
  const { bidx: _bidx, ...plain } = from!;
  const _id = newId();
  await Shipment.create({ ...plain, _id, trackingNumber: uniqueTrackingNumber(), ...overrides });
  return _id;
}

beforeAll(async () => {
  kit = await startPrivacy({ seed: false, now: '2025-03-10T09:30:00.000Z' });
  // The shipment "process": its own connection and key vault (own cache, own clock), the same master key.
  const runtime = kit.stores.fieldCrypto!;
  shipConn = await mongoose.createConnection(kit.devdb.uri, { dbName: kit.stores.forRegion().name }).asPromise();
  const shipVault = new KeyVault({ store: new MongooseKeyVaultStore(shipConn), env: runtime.vault.env, masterKey: runtime.masterKey, cacheTtlMs: TTL_MS, now: () => new Date(Date.now() + shipClockOffset) });
  bindFieldCrypto(shipConn, { vault: shipVault });
  const shipStores: DataStores = {
    forRegion: () => shipConn,
    // The privacy process's runtime with this process's vault; closing is the privacy kit's job.
    fieldCrypto: { ...runtime, vault: shipVault, close: async () => undefined },
    ping: async () => {
      await shipConn.db!.command({ ping: 1 });
    },
    close: async () => undefined,
  };
  ship = await startSubgraph('shipment', { appEnv: 'production', build: (deps) => buildShipmentSubgraph({ ...deps, stores: shipStores }) });

  const created = async (recipient: typeof X, customs: typeof CUSTOMS_X | null) =>
    (await gqlOk(ship, CREATE, { input: shipmentInput({ recipient, customs }) }, adminA)).createShipment as { id: string; recipientSubjectId: string };
  const x1 = await created(X, CUSTOMS_X);
  const y = await created(Y, null);
  [ids.x1, ids.y, subjectX, subjectY] = [x1.id, y.id, x1.recipientSubjectId, y.recipientSubjectId];
  await gqlOk(ship, RECORD, { input: { shipmentId: ids.x1, clientEventId: 'erasure-evt-1', occurredAt: new Date(Date.now() - 60_000).toISOString(), status: 'IN_TRANSIT', location: { city: 'Berlin', postalCode: '10115', countryIso3: 'DEU' } } }, adminA);
  const { Shipment } = shipmentModels(shipConn);
  ids.x2 = await cloneShipment(Shipment, ids.x1, {});
  // Tenant B knows a recipient under the same pseudonym and email: erasing X in tenant A must not touch it.
  ids.bx = await cloneShipment(Shipment, ids.x1, { tenantId: tenantB.id });
  // X's settings, stored under X's key.
  await gqlOk(kit, UPDATE_SETTINGS, { s: subjectX, i: { notificationChannels: ['EMAIL'], dataSharing: { marketing: true } } }, A());
});

afterAll(async () => {
  await ship?.stop();
  await shipConn?.close();
  await kit?.close();
});

describe('completing an ERASURE request', () => {
  let dsrId = '';
  let backupCount = 0;

  test('before: the shipments and their blind indexes are there, and the shipment process has read (cached) X', async () => {
    expect(kit.plan.tenants[0].id).toBe(tenantA.id);
    expect((await revealShipment(ids.x1)).recipient).toEqual({ name: X.name, phone: X.phone, email: X.email });
    expect((await revealShipment(ids.x2)).recipient.email).toBe(X.email);
    expect((await lookup(X.email)).sort()).toEqual([ids.x1, ids.x2].sort());
    expect(await lookup(X.email, supportB)).toEqual([ids.bx]);
    for (const id of [ids.x1, ids.x2, ids.y, ids.bx]) expect(Object.keys(await bidxOf(id)).sort()).toEqual(['recipientEmail', 'recipientPhone']);
    expect((await gqlOk(kit, SETTINGS, { s: subjectX }, A())).privacySettings).toEqual({ subjectId: subjectX, notificationChannels: ['EMAIL'], dataSharing: { analytics: false, marketing: true, partners: false } });
    // A backup: a copy of X's documents taken now.
    const copy = await raw('shipments').find({ tenantId: tenantA.id, recipientSubjectId: subjectX }).toArray();
    backupCount = copy.length;
    expect(backupCount).toBe(2);
    await raw('shipments_backup').insertMany(copy);
  });

  test('shreds X in tenant A before recording COMPLETED, and audits counts without personal data', async () => {
    dsrId = await createDsr(subjectX, 'ERASURE');
    expect((await move(dsrId, 'IN_PROGRESS')).errors).toBeUndefined();
    kit.audit.events.length = 0;
    const res = await move(dsrId, 'COMPLETED');
    expect(res.errors).toBeUndefined();
    expect(res.data!.updateDataSubjectRequestStatus).toMatchObject({ id: dsrId, kind: 'ERASURE', status: 'COMPLETED', completedAt: '2025-03-10T09:30:00.000Z' });
    // The officer's proof of the erasure, in the answer itself.
    expect(res.data!.updateDataSubjectRequestStatus.erasure).toEqual({
      executedAt: '2025-03-10T09:30:00.000Z',
      keysDestroyed: 1,
      documentsUnindexed: [
        { collection: 'shipments', documents: 2 },
        { collection: 'users', documents: 0 },
      ],
    });

    expect(kit.audit.events.map((e) => e.type)).toEqual(['dsr.erasure_executed', 'dsr.status_changed']);
    expect(kit.audit.events[0]).toMatchObject({
      actor: expect.stringMatching(/^user:/),
      tenantId: tenantA.id,
      target: `DataSubjectRequest:${dsrId}`,
      details: { keysDestroyed: 1, documentsUnindexed: { shipments: 2, users: 0 }, legalHolds: ['customs:APAC:5y', 'customs:EU:3y', 'customs:US:5y'] },
    });
    const audited = JSON.stringify(kit.audit.events);
    for (const value of [subjectX, X.name, X.email, X.phone]) expect(audited).not.toContain(value);

    const stored = await kit.models.DataSubjectRequest.findById(dsrId).lean();
    expect(stored!.erasure).toEqual({ executedAt: new Date('2025-03-10T09:30:00.000Z'), keysDestroyed: 1, documentsUnindexed: { shipments: 2, users: 0 } });
  });

  test("X's key in tenant A is destroyed; Y's and tenant B's keys are not", async () => {
    expect((await keyRecords(tenantA.id, subjectX)).map((k) => [k.status, k.wrappedKey])).toEqual([['destroyed', null]]);
    expect((await keyRecords(tenantB.id, subjectX)).map((k) => k.status)).toEqual(['active']);
    expect((await keyRecords(tenantA.id, subjectY)).map((k) => k.status)).toEqual(['active']);
  });

  test("X's blind indexes are gone from the stored documents at once; Y's and tenant B's stay", async () => {
    expect(await bidxOf(ids.x1)).toEqual({});
    expect(await bidxOf(ids.x2)).toEqual({});
    expect(Object.keys(await bidxOf(ids.y)).sort()).toEqual(['recipientEmail', 'recipientPhone']);
    expect(Object.keys(await bidxOf(ids.bx)).sort()).toEqual(['recipientEmail', 'recipientPhone']);
    // The index value X's email still computes to matches nothing of tenant A's.
    const { Shipment } = shipmentModels(kit.stores.forRegion());
    expect(await raw('shipments').countDocuments(await blindIndexFilter(Shipment, tenantA.id, 'recipientEmail', X.email))).toBe(0);
    expect(await raw('shipments').countDocuments(await blindIndexFilter(Shipment, tenantB.id, 'recipientEmail', X.email))).toBe(1);
  });

  test('lookups by X’s email or phone find nothing in tenant A (every process: the indexes live in the documents); Y and tenant B still found', async () => {
    expect(await lookup(X.email)).toEqual([]);
    expect((await gqlOk(ship, LOOKUP, { phone: X.phone }, supportA)).shipmentsByRecipientContact).toEqual([]);
    expect(await lookup(Y.email)).toEqual([ids.y]);
    expect(await lookup(X.email, supportB)).toEqual([ids.bx]);
  });

  test('the shipment process may decrypt X from its key cache until DATA_KEY_CACHE_TTL_MS has passed; then X reads as null, records kept', async () => {
    // The multi-process window, stated rather than hidden: this process cached X's key before the shred.
    expect((await revealShipment(ids.x1)).recipient.name).toBe(X.name);
    shipClockOffset += TTL_MS + 1;

    for (const id of [ids.x1, ids.x2]) {
      const s = await revealShipment(id);
      expect(s.recipient).toEqual({ name: null, phone: null, email: null });
      expect(s.deliveryNotes).toBeNull();
      expect(s.destination).toMatchObject({ line1: null, postalCode: null, city: 'Berlin', countryIso3: 'DEU' });
    }
    const events = (await revealShipment(ids.x1)).events.edges.map((e: { node: { location: unknown } }) => e.node.location);
    expect(events).toEqual([{ city: 'Berlin', postalCode: null }]);
    // The customs record outlives the erasure (legal hold): its fields are not personal and stay readable.
    const customs = await gqlOk(ship, CUSTOMS, { id: ids.x1 }, adminA);
    expect(customs.shipment).toMatchObject({ id: ids.x1, status: 'IN_TRANSIT', customs: CUSTOMS_X });
  });

  test('Y and tenant B are untouched', async () => {
    expect((await revealShipment(ids.y)).recipient).toEqual({ name: Y.name, phone: Y.phone, email: Y.email });
    expect((await revealShipment(ids.bx, adminB)).recipient).toEqual({ name: X.name, phone: X.phone, email: X.email });
  });

  test('the copy taken before the erasure is unreadable now, in the process that shredded and in any other', async () => {
    for (const conn of [kit.stores.forRegion(), shipConn]) {
      const copy = await conn.collection('shipments_backup').find().toArray();
      expect(copy).toHaveLength(backupCount);
      expect(isEnvelope(copy[0].pii)).toBe(true);
      await decryptDocuments(shipmentModels(conn).Shipment, copy);
      for (const doc of copy) expect(doc.recipient).toEqual({ name: null, phone: null, email: null });
    }
  });

  test("X's privacy settings were erased with the key: they read as the defaults", async () => {
    const res = await kit.gql(SETTINGS, { s: subjectX }, A());
    expect(res.errors).toBeUndefined();
    expect(res.data!.privacySettings).toEqual({ subjectId: subjectX, notificationChannels: [], dataSharing: { analytics: false, marketing: false, partners: false } });
  });

  test('is idempotent: erasing X again destroys and un-indexes nothing, and a second request completes with zero counts', async () => {
    expect(await eraseSubject(encryptedModels(kit.stores.forRegion()), kit.stores.fieldCrypto!.vault, { tenantId: tenantA.id, subjectId: subjectX })).toEqual({
      keysDestroyed: 0,
      documentsUnindexed: { shipments: 0, users: 0 },
    });
    const again = await createDsr(subjectX, 'ERASURE');
    await move(again, 'IN_PROGRESS');
    expect((await move(again, 'COMPLETED')).errors).toBeUndefined();
    expect((await kit.models.DataSubjectRequest.findById(again).lean())!.erasure).toMatchObject({ keysDestroyed: 0, documentsUnindexed: { shipments: 0, users: 0 } });
    // The finished request cannot be completed twice.
    expect(reasons(await move(dsrId, 'COMPLETED'))).toEqual(['INVALID_TRANSITION']);
  });
});

describe('requests that must not erase anything', () => {
  const untouched = async () => {
    expect((await keyRecords(tenantA.id, subjectY)).map((k) => k.status)).toEqual(['active']);
    expect(Object.keys(await bidxOf(ids.y)).sort()).toEqual(['recipientEmail', 'recipientPhone']);
    expect(await lookup(Y.email)).toEqual([ids.y]);
    expect(kit.audit.events.filter((e) => e.type === 'dsr.erasure_executed')).toEqual([]);
  };

  test('REJECTED erasure, COMPLETED access and portability shred nothing', async () => {
    kit.audit.events.length = 0;
    const rejected = await createDsr(subjectY, 'ERASURE');
    expect((await move(rejected, 'REJECTED')).data!.updateDataSubjectRequestStatus.status).toBe('REJECTED');
    for (const kind of ['ACCESS', 'PORTABILITY']) {
      const id = await createDsr(subjectY, kind);
      await move(id, 'IN_PROGRESS');
      const done = await move(id, 'COMPLETED');
      expect(done.errors).toBeUndefined();
      expect(done.data!.updateDataSubjectRequestStatus).toMatchObject({ kind, status: 'COMPLETED', erasure: null });
      expect((await kit.models.DataSubjectRequest.findById(id).lean())!.erasure).toBeNull();
    }
    await untouched();
    expect((await revealShipment(ids.y)).recipient.name).toBe(Y.name);
  });

  test("another tenant's officer completing tenant A's erasure gets NOT_FOUND, and nothing is shredded", async () => {
    const id = await createDsr(subjectY, 'ERASURE');
    await move(id, 'IN_PROGRESS');
    kit.audit.events.length = 0;
    expect(codes(await move(id, 'COMPLETED', B()))).toEqual(['NOT_FOUND']);
    expect((await kit.models.DataSubjectRequest.findById(id).lean())!.status).toBe('IN_PROGRESS');
    expect(kit.audit.events).toEqual([]);
    await untouched();
  });

  test('without an eraser (field encryption off) completing an erasure is refused and the request stays where it was', async () => {
    const id = await createDsr(subjectY, 'ERASURE');
    await move(id, 'IN_PROGRESS');
    const { requests } = createServices(kit.models, kit.clock.now);
    const writer = { actor: 'user:test', requestId: 'erasure-test', audit: kit.audit };
    await expect(requests.updateStatus(writer, { tenantIds: [tenantA.id] }, id, 'COMPLETED')).rejects.toThrow(/erasure is not available/);
    expect((await kit.models.DataSubjectRequest.findById(id).lean())!.status).toBe('IN_PROGRESS');
    await untouched();
  });
});

describe('a failure between the erasure and COMPLETED', () => {
  test('leaves the request in progress; repeating the move finishes it', async () => {
    const w = (await gqlOk(ship, CREATE, { input: shipmentInput({ recipient: { name: 'Wanda Retry', email: 'wanda.retry@example.net', phone: '+447700900333' } }) }, adminA)).createShipment;
    const id = await createDsr(w.recipientSubjectId, 'ERASURE');
    await move(id, 'IN_PROGRESS');
    // The real erasure, then a crash before the status is written.
    const models = encryptedModels(kit.stores.forRegion());
    const vault = kit.stores.fieldCrypto!.vault;
    const { requests } = createServices(kit.models, kit.clock.now, {
      erase: async (subject) => {
        await eraseSubject(models, vault, subject);
        throw new Error('simulated crash after the erasure');
      },
    });
    const writer = { actor: 'user:test', requestId: 'erasure-crash', audit: kit.audit };
    await expect(requests.updateStatus(writer, { tenantIds: [tenantA.id] }, id, 'COMPLETED')).rejects.toThrow('simulated crash');
    expect((await kit.models.DataSubjectRequest.findById(id).lean())!.status).toBe('IN_PROGRESS');
    expect((await keyRecords(tenantA.id, w.recipientSubjectId)).map((k) => k.status)).toEqual(['destroyed']);
    expect(await bidxOf(w.id)).toEqual({});

    const retried = await move(id, 'COMPLETED');
    expect(retried.errors).toBeUndefined();
    expect(retried.data!.updateDataSubjectRequestStatus.status).toBe('COMPLETED');
    expect((await kit.models.DataSubjectRequest.findById(id).lean())!.erasure).toMatchObject({ keysDestroyed: 0, documentsUnindexed: { shipments: 0, users: 0 } });
  });
});

describe('erasing a user (the subject is the document itself)', () => {
  test("shreds the user's email and name and removes their unique email index; other users keep theirs", async () => {
    const { User } = identityModels(kit.stores.forRegion());
    const [zed, other] = [newId(), newId()];
    const now = new Date();
    await User.create({ _id: zed, tenantId: tenantA.id, email: 'zed.erased@example.net', name: 'Zed Erased', roles: ['DRIVER'], createdAt: now });
    await User.create({ _id: other, tenantId: tenantA.id, email: 'olive.kept@example.net', name: 'Olive Kept', roles: ['DRIVER'], createdAt: now });
    const id = await createDsr(zed, 'ERASURE');
    await move(id, 'IN_PROGRESS');
    kit.audit.events.length = 0;
    expect((await move(id, 'COMPLETED')).errors).toBeUndefined();
    expect(kit.audit.events[0]).toMatchObject({ type: 'dsr.erasure_executed', details: { keysDestroyed: 1, documentsUnindexed: { shipments: 0, users: 1 } } });

    const rawUser = await raw('users').findOne({ _id: zed as never });
    expect(rawUser!.bidx ?? {}).toEqual({});
    expect(isEnvelope(rawUser!.email)).toBe(true);
    expect(await User.findById(zed).lean()).toMatchObject({ email: null, name: null, tenantId: tenantA.id });
    expect(await User.findById(other).lean()).toMatchObject({ email: 'olive.kept@example.net', name: 'Olive Kept' });
    expect(Object.keys(((await raw('users').findOne({ _id: other as never }))!.bidx ?? {}) as object)).toEqual(['email']);
    expect(await raw('users').countDocuments(await blindIndexFilter(User, tenantA.id, 'email', 'zed.erased@example.net'))).toBe(0);
  });
});
