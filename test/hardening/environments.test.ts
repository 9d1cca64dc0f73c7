/**
 * The environment modes of ARCHITECTURE.md's table, on real gateways:
 * landing page, introspection and automatic persisted queries (APQ) per
 * APP_ENV. (Error detail per environment: error-hygiene.test.ts.)
 */
import { createHash } from 'node:crypto';
import { getIntrospectionQuery } from 'graphql';
import { ADMIN, DISPATCHER, codes, person, startHardenedGateway, type HardenedGateway } from './kit';

const SECURITY_ADMIN = person(['SECURITY_ADMIN'], ['users:read']);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

async function landingPage(g: HardenedGateway) {
  return g.raw({ method: 'GET', headers: { accept: 'text/html' } });
}

/** Registers `query` through APQ, then runs it by hash alone. */
async function apqRoundTrip(g: HardenedGateway, query: string) {
  const persistedQuery = { version: 1, sha256Hash: sha256(query) };
  const miss = await g.gql(undefined, { extensions: { persistedQuery } });
  const register = await g.gql(query, { extensions: { persistedQuery } });
  const hit = await g.gql(undefined, { extensions: { persistedQuery } });
  return { miss, register, hit };
}

describe('production', () => {
  let g: HardenedGateway;
  beforeAll(async () => {
    g = await startHardenedGateway('production');
  });
  afterAll(async () => {
    await g?.stop();
  });

  test('no landing page', async () => {
    const res = await landingPage(g);
    expect(res.headers.get('content-type') ?? '').not.toContain('text/html');
  });

  test('no introspection, whoever asks', async () => {
    for (const as of [undefined, ADMIN, SECURITY_ADMIN]) expect(codes(await g.gql('{ __schema { queryType { name } } }', { as }))).toEqual(['INTROSPECTION_DISABLED']);
  });

  test('no automatic persisted queries: a hash is PERSISTED_QUERY_NOT_SUPPORTED, and so is a registration', async () => {
    const { miss, register, hit } = await apqRoundTrip(g, '{ __typename }');
    expect(codes(miss)).toEqual(['PERSISTED_QUERY_NOT_SUPPORTED']);
    expect(codes(register)).toEqual(['PERSISTED_QUERY_NOT_SUPPORTED']);
    expect(codes(hit)).toEqual(['PERSISTED_QUERY_NOT_SUPPORTED']);
  });
});

describe('staging', () => {
  let g: HardenedGateway;
  beforeAll(async () => {
    g = await startHardenedGateway('staging');
  });
  afterAll(async () => {
    await g?.stop();
  });

  test('Apollo Sandbox is the landing page', async () => {
    const res = await landingPage(g);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.text).toMatch(/sandbox/i);
  });

  test.each([
    ['TENANT_ADMIN', ADMIN],
    ['SECURITY_ADMIN', SECURITY_ADMIN],
  ])('a %s may run the full introspection query (as Sandbox does)', async (_role, as) => {
    const res = await g.gql(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, inputValueDeprecation: true }), { as });
    expect(res.errors).toBeUndefined();
    expect(res.data!.__schema.queryType.name).toBe('Query');
  });

  test('anyone else gets INTROSPECTION_DISABLED, for __schema and __type alike', async () => {
    for (const as of [undefined, DISPATCHER]) {
      for (const query of ['{ __schema { queryType { name } } }', '{ __type(name: "Shipment") { name } }', 'query { ...F } fragment F on Query { __schema { types { name } } }']) {
        const res = await g.gql(query, { as });
        expect(res.status).toBe(400);
        expect(codes(res)).toEqual(['INTROSPECTION_DISABLED']);
      }
    }
  });

  test('admins cannot introspect in circles either: QUERY_TOO_DEEP', async () => {
    const res = await g.gql('{ __schema { types { fields { type { fields { type { fields { type { name } } } } } } } } }', { as: ADMIN });
    expect(codes(res)).toEqual(['QUERY_TOO_DEEP']);
    expect(res.errors![0].extensions!.reason).toBe('INTROSPECTION_DEPTH');
  });

  test('automatic persisted queries work', async () => {
    const { miss, register, hit } = await apqRoundTrip(g, '{ __typename }');
    expect(codes(miss)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    expect(register.data).toEqual({ __typename: 'Query' });
    expect(hit.data).toEqual({ __typename: 'Query' });
  });
});

describe('development', () => {
  let g: HardenedGateway;
  beforeAll(async () => {
    g = await startHardenedGateway('development');
  });
  afterAll(async () => {
    await g?.stop();
  });

  test('everything on: Sandbox, introspection for anyone, APQ', async () => {
    expect((await landingPage(g)).text).toMatch(/sandbox/i);
    const intro = await g.gql('{ __type(name: "Shipment") { name } }');
    expect(intro.data).toEqual({ __type: { name: 'Shipment' } });
    const { register, hit } = await apqRoundTrip(g, 'query Dev { __typename }');
    expect(register.data).toEqual({ __typename: 'Query' });
    expect(hit.data).toEqual({ __typename: 'Query' });
  });

  test('the limits are relaxed, not off', async () => {
    const fine = await g.gql(`{ ${Array.from({ length: 50 }, (_, i) => `a${i}: __typename`).join(' ')} }`);
    expect(fine.errors).toBeUndefined();
    const absurd = await g.gql(`{ ${Array.from({ length: 101 }, (_, i) => `a${i}: __typename`).join(' ')} }`);
    expect(codes(absurd)).toEqual(['QUERY_TOO_COMPLEX']);
  });
});
