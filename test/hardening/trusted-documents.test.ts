/**
 * Trusted documents: manifests (id = sha256 of the printed document), the
 * CLI that builds them from `.graphql` files, and enforcement per app at
 * the gateway — in production a registered app runs only its own
 * documents; other clients per the open list; a token can bind an app.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TRUSTED_DOCUMENTS_DIR, TrustedDocumentStore, TrustedDocumentsError, buildManifest, documentId, trustedOperations, validateManifest } from '../../lib/trusted-documents';
import { runTrustedDocumentsCli } from '../../scripts/trusted-documents';
import { ADMIN, codes, person, startHardenedGateway, type HardenedGateway } from './kit';

const PING = 'query Ping {\n  __typename\n}';
const PONG = 'query Pong {\n  __typename\n}';
const store = () => new TrustedDocumentStore({ 'driver-app': { [documentId(PING)]: PING }, 'partner-sdk': { [documentId(PONG)]: PONG } });
const hash = (text: string) => ({ persistedQuery: { version: 1, sha256Hash: documentId(text) } });
const as = (app: string) => ({ 'apollographql-client-name': app });

describe('manifests', () => {
  test('one document per named operation, with the fragments it uses, keyed by the sha256 of its printed text', () => {
    const ops = trustedOperations([
      { file: 'a.graphql', text: 'query A($id: ID!) { shipment(id: $id) { ...F } }\nmutation B { __typename }' },
      { file: 'f.graphql', text: 'fragment F on Shipment { id ...G }\nfragment G on Shipment { status }\nfragment Unused on Shipment { id }' },
    ]);
    expect(ops.map((o) => [o.name, o.type])).toEqual([
      ['A', 'query'],
      ['B', 'mutation'],
    ]);
    const a = ops[0];
    expect(a.body).toContain('fragment F on Shipment');
    expect(a.body).toContain('fragment G on Shipment');
    expect(a.body).not.toContain('Unused');
    expect(a.id).toBe(documentId(a.body));
    const manifest = buildManifest(ops);
    expect(manifest[a.id]).toBe(a.body);
    expect(validateManifest('driver-app', manifest)).toEqual(manifest);
  });

  test('anonymous operations, duplicate names, unknown fragments and tampered ids are refused', () => {
    expect(() => trustedOperations([{ file: 'x.graphql', text: '{ __typename }' }])).toThrow(TrustedDocumentsError);
    expect(() => trustedOperations([{ file: 'x.graphql', text: 'query A { __typename } query A { __typename }' }])).toThrow(/twice/);
    expect(() => trustedOperations([{ file: 'x.graphql', text: 'query A { ...Missing }' }])).toThrow(/Missing/);
    expect(() => validateManifest('driver-app', { [documentId(PING)]: PONG })).toThrow(/sha256/);
    expect(() => validateManifest('Driver App', {})).toThrow(/app name/);
  });

  test('the checked-in manifests are valid and built from trusted-documents/operations', () => {
    const repo = TrustedDocumentStore.fromDir(TRUSTED_DOCUMENTS_DIR);
    expect(repo.appNames().sort()).toEqual(['driver-app', 'partner-sdk']);
    for (const app of repo.appNames()) {
      const dir = path.join(TRUSTED_DOCUMENTS_DIR, 'operations', app);
      const files = readdirSync(dir).filter((f) => f.endsWith('.graphql'));
      const rebuilt = buildManifest(trustedOperations(files.map((f) => ({ file: f, text: readFileSync(path.join(dir, f), 'utf8') }))));
      expect(JSON.parse(readFileSync(path.join(TRUSTED_DOCUMENTS_DIR, `${app}.json`), 'utf8'))).toEqual(rebuilt);
    }
  });
});

describe('the CLI (npm run trusted-docs)', () => {
  let dir: string;
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
  };
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'trusted-docs-'));
    mkdirSync(path.join(dir, 'ops', 'nested'), { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('build writes the manifest of every .graphql file under the folder, with each operation measured', async () => {
    writeFileSync(path.join(dir, 'ops', 'list.graphql'), 'query List { shipments(first: 5) { edges { node { ...Row } } } }');
    writeFileSync(path.join(dir, 'ops', 'nested', 'row.graphql'), 'fragment Row on Shipment { id status }');
    const out = path.join(dir, 'test-app.json');
    const t = io();
    expect(await runTrustedDocumentsCli(['build', 'test-app', path.join(dir, 'ops'), '--out', out], t.io)).toBe(0);
    const manifest = JSON.parse(readFileSync(out, 'utf8'));
    expect(Object.keys(manifest)).toHaveLength(1);
    expect(Object.values(manifest)[0]).toContain('fragment Row on Shipment');
    expect(t.out.join('\n')).toMatch(/List\s+4\s+0\s+0\s+\d+\s+5\s+11/);
  });

  test('build refuses documents the supergraph does not validate, or the production limits would refuse', async () => {
    const out = path.join(dir, 'bad.json');
    writeFileSync(path.join(dir, 'ops', 'bad.graphql'), 'query Bad { shipments(first: 5) { nope } }');
    let t = io();
    expect(await runTrustedDocumentsCli(['build', 'bad', path.join(dir, 'ops'), '--out', out], t.io)).toBe(1);
    expect(t.err.join('\n')).toMatch(/invalid against the supergraph/);
    expect(existsSync(out)).toBe(false);
    writeFileSync(path.join(dir, 'ops', 'bad.graphql'), 'query Dear { shipments(first: 100) { edges { node { events(first: 100) { edges { node { status } } } } } } }');
    t = io();
    expect(await runTrustedDocumentsCli(['build', 'bad', path.join(dir, 'ops'), '--out', out], t.io)).toBe(1);
    expect(t.err.join('\n')).toMatch(/above the production limits \(cost 20301 > 5000\)/);
  });

  test('check passes on the checked-in manifests; usage errors exit 2', async () => {
    expect(await runTrustedDocumentsCli(['check'], io().io)).toBe(0);
    expect(await runTrustedDocumentsCli(['build', 'only-app'], io().io)).toBe(2);
    expect(await runTrustedDocumentsCli(['nope'], io().io)).toBe(2);
  });
});

describe('production gateway', () => {
  let g: HardenedGateway;
  beforeAll(async () => {
    g = await startHardenedGateway('production', { hardening: { trustedDocuments: { store: store() } } });
  });
  afterAll(async () => {
    await g?.stop();
  });

  test('a registered app runs its trusted document by hash', async () => {
    const res = await g.gql(undefined, { extensions: hash(PING), headers: as('driver-app') });
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ __typename: 'Query' });
  });

  test('…and the same document sent in full', async () => {
    expect((await g.gql(PING, { headers: as('driver-app') })).data).toEqual({ __typename: 'Query' });
  });

  test('any other document from a registered app is TRUSTED_DOCUMENT_REQUIRED', async () => {
    for (const query of ['{ __typename }', 'query Ping { __typename __typename }', PONG]) {
      const res = await g.gql(query, { headers: as('driver-app') });
      expect(res.status).toBe(400);
      expect(codes(res)).toEqual(['TRUSTED_DOCUMENT_REQUIRED']);
    }
    // Also when sent with a hash, APQ-style.
    expect(codes(await g.gql('{ __typename }', { headers: as('driver-app'), extensions: hash('{ __typename }') }))).toEqual(['TRUSTED_DOCUMENT_REQUIRED']);
  });

  test("a hash from another app's manifest, or from none, is TRUSTED_DOCUMENT_NOT_FOUND", async () => {
    expect(codes(await g.gql(undefined, { extensions: hash(PONG), headers: as('driver-app') }))).toEqual(['TRUSTED_DOCUMENT_NOT_FOUND']);
    expect(codes(await g.gql(undefined, { extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } }, headers: as('partner-sdk') }))).toEqual(['TRUSTED_DOCUMENT_NOT_FOUND']);
    expect((await g.gql(undefined, { extensions: hash(PONG), headers: as('partner-sdk') })).data).toEqual({ __typename: 'Query' });
  });

  test('a refused document never reaches a subgraph; an admitted one does', async () => {
    const refused = await g.gql('{ shipments(first: 1) { totalCount } }', { as: ADMIN, headers: as('driver-app') });
    expect(codes(refused)).toEqual(['TRUSTED_DOCUMENT_REQUIRED']);
    const open = await g.gql('{ shipments(first: 1) { totalCount } }', { as: ADMIN, headers: as('tracksafe-web') });
    expect(codes(open)).toEqual(['INTERNAL_SERVER_ERROR']);
  });

  test('clients that are not registered apps send any operation (open list: *)', async () => {
    expect((await g.gql('{ __typename }')).data).toEqual({ __typename: 'Query' });
    expect((await g.gql('{ __typename }', { headers: as('tracksafe-web') })).data).toEqual({ __typename: 'Query' });
  });
});

describe('production gateway with an open list and a token-bound app', () => {
  let g: HardenedGateway;
  beforeAll(async () => {
    g = await startHardenedGateway('production', { hardening: { trustedDocuments: { store: store(), openClients: ['tracksafe-web'], appBySubjectType: { device: 'driver-app' } } } });
  });
  afterAll(async () => {
    await g?.stop();
  });

  test('only listed clients may send arbitrary operations', async () => {
    expect((await g.gql('{ __typename }', { headers: as('tracksafe-web') })).data).toEqual({ __typename: 'Query' });
    for (const headers of [as('some-script'), {}]) expect(codes(await g.gql('{ __typename }', { headers }))).toEqual(['TRUSTED_DOCUMENT_REQUIRED']);
  });

  test('a device token is the driver app whatever its header says', async () => {
    const device = person(['DEVICE'], ['events:write'], { id: 'scanner-1', subjectType: 'device' });
    expect(codes(await g.gql('{ __typename }', { as: device, headers: as('tracksafe-web') }))).toEqual(['TRUSTED_DOCUMENT_REQUIRED']);
    expect((await g.gql(undefined, { as: device, extensions: hash(PING), headers: as('tracksafe-web') })).data).toEqual({ __typename: 'Query' });
  });
});

describe('staging gateway (not enforced)', () => {
  test('registered apps run their hashes; anything else still runs; unknown hashes fall through to APQ', async () => {
    const g = await startHardenedGateway('staging', { hardening: { trustedDocuments: { store: store() } } });
    try {
      expect((await g.gql(undefined, { extensions: hash(PING), headers: as('driver-app') })).data).toEqual({ __typename: 'Query' });
      expect((await g.gql('{ __typename }', { headers: as('driver-app') })).data).toEqual({ __typename: 'Query' });
      expect(codes(await g.gql(undefined, { extensions: hash('query Other { __typename }'), headers: as('driver-app') }))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    } finally {
      await g.stop();
    }
  });
});

test('the real manifests load at the gateway: the driver app runs DriverShipment by hash in production', async () => {
  const g = await startHardenedGateway('production');
  try {
    const manifest = JSON.parse(readFileSync(path.join(TRUSTED_DOCUMENTS_DIR, 'driver-app.json'), 'utf8')) as Record<string, string>;
    const [id] = Object.entries(manifest).find(([, body]) => body.startsWith('query DriverShipment'))!;
    const admitted = await g.gql(undefined, { as: ADMIN, variables: { id: 's1' }, extensions: { persistedQuery: { version: 1, sha256Hash: id } }, headers: as('driver-app') });
    // Admitted: it got as far as the closed subgraph port.
    expect(codes(admitted)).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(codes(await g.gql('query DriverShipment { __typename }', { headers: as('driver-app') }))).toEqual(['TRUSTED_DOCUMENT_REQUIRED']);
  } finally {
    await g.stop();
  }
});
