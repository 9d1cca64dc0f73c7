/**
 * graphql-cop's checks against a production gateway, one test per attack,
 * each refused with its own code. The subgraphs point at a closed port, so
 * a refusal with its code also proves no subgraph was called; nothing here
 * ever gets data beyond `__typename`.
 */
import { ADMIN, codes, startHardenedGateway, type HardenedGateway } from './kit';

let g: HardenedGateway;

beforeAll(async () => {
  g = await startHardenedGateway('production');
});

afterAll(async () => {
  await g?.stop();
});

const json = { 'content-type': 'application/json' };

describe('graphql-cop against production', () => {
  test('alias overloading: 101 aliases are QUERY_TOO_COMPLEX / TOO_MANY_ALIASES', async () => {
    const res = await g.gql(`query cop { ${Array.from({ length: 101 }, (_, i) => `alias${i}: __typename`).join('\n')} }`);
    expect(res.status).toBe(400);
    expect(res.data).toBeUndefined();
    expect(codes(res)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(res.errors![0].extensions).toMatchObject({ reason: 'TOO_MANY_ALIASES', limit: 10, found: 101 });
  });

  test('batch queries: a JSON array of 10 operations is BATCHING_DISABLED', async () => {
    const res = await g.raw({ method: 'POST', headers: json, body: JSON.stringify(Array.from({ length: 10 }, () => ({ query: 'query cop { __typename }' }))) });
    expect(res.status).toBe(400);
    expect(Array.isArray(res.json)).toBe(false);
    expect(codes(res.json)).toEqual(['BATCHING_DISABLED']);
  });

  test('field duplication: 500 × __typename is QUERY_TOO_COMPLEX / TOO_MANY_FIELDS', async () => {
    const res = await g.gql(`query cop { ${Array.from({ length: 500 }, () => '__typename').join(' ')} }`);
    expect(res.status).toBe(400);
    expect(codes(res)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(res.errors![0].extensions).toMatchObject({ reason: 'TOO_MANY_FIELDS', limit: 200, found: 500 });
  });

  test('directive overloading: 10 repeated directives are QUERY_TOO_COMPLEX / TOO_MANY_DIRECTIVES', async () => {
    const res = await g.gql(`query cop { __typename @aa@aa@aa@aa@aa@aa@aa@aa@aa@aa }`);
    expect(res.status).toBe(400);
    expect(codes(res)[0]).toBe('QUERY_TOO_COMPLEX');
    expect(res.errors![0].extensions).toMatchObject({ reason: 'TOO_MANY_DIRECTIVES', limit: 5, found: 10 });
    // The unknown directives are also refused by graphql's own validation, masked to a generic error.
    expect(new Set(codes(res).slice(1))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
  });

  test('circular introspection is QUERY_TOO_DEEP (and introspection is off anyway)', async () => {
    const res = await g.gql(`query cop { __schema { types { fields { type { fields { type { fields { type { fields { type { name } } } } } } } } } } }`);
    expect(res.status).toBe(400);
    expect(res.data).toBeUndefined();
    expect(codes(res)).toContain('QUERY_TOO_DEEP');
    expect(codes(res)).toContain('INTROSPECTION_DISABLED');
    expect(res.errors!.filter((e) => e.extensions!.code === 'QUERY_TOO_DEEP').map((e) => e.extensions!.reason).sort()).toEqual(['INTROSPECTION_DEPTH', 'MAX_DEPTH']);
  });

  test("circular fragments are refused by graphql's own validation: GRAPHQL_VALIDATION_FAILED", async () => {
    const res = await g.gql(`query cop { ...A } fragment A on Query { __typename ...B } fragment B on Query { __typename ...A }`);
    expect(res.status).toBe(400);
    expect(res.data).toBeUndefined();
    expect(codes(res)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  test('GET query without a preflight header is CSRF_PREVENTED; with one it runs (queries only)', async () => {
    const plain = await g.raw({ method: 'GET', path: '/graphql?query=' + encodeURIComponent('query cop { __typename }') });
    expect(plain.status).toBe(400);
    expect(codes(plain.json)).toEqual(['CSRF_PREVENTED']);
    const preflighted = await g.raw({ method: 'GET', path: '/graphql?query=' + encodeURIComponent('query cop { __typename }'), headers: { 'apollo-require-preflight': 'true' } });
    expect(preflighted.status).toBe(200);
    expect(preflighted.json).toEqual({ data: { __typename: 'Query' } });
  });

  test('GET mutation is METHOD_NOT_ALLOWED (405), with or without the preflight header', async () => {
    const mutation = '/graphql?query=' + encodeURIComponent('mutation cop { __typename }');
    const plain = await g.raw({ method: 'GET', path: mutation });
    expect(plain.status).toBe(400);
    expect(codes(plain.json)).toEqual(['CSRF_PREVENTED']);
    const preflighted = await g.raw({ method: 'GET', path: mutation, headers: { 'apollo-require-preflight': 'true' } });
    expect(preflighted.status).toBe(405);
    expect(preflighted.headers.get('allow')).toBe('POST');
    expect(codes(preflighted.json)).toEqual(['METHOD_NOT_ALLOWED']);
  });

  test('POST urlencoded is refused (415 UNSUPPORTED_MEDIA_TYPE at the edge, else CSRF_PREVENTED), with or without a preflight header', async () => {
    for (const headers of [{ 'content-type': 'application/x-www-form-urlencoded' }, { 'content-type': 'application/x-www-form-urlencoded', 'apollo-require-preflight': 'true' }] as Array<Record<string, string>>) {
      const res = await g.raw({ method: 'POST', headers, body: 'query=' + encodeURIComponent('mutation cop { __typename }') });
      expect([400, 415]).toContain(res.status);
      expect(res.json?.data).toBeUndefined();
      expect(['UNSUPPORTED_MEDIA_TYPE', 'CSRF_PREVENTED', 'BAD_REQUEST']).toContain(codes(res.json)[0]);
    }
  });

  test('tracing and debug output are absent from every answer', async () => {
    for (const res of [
      await g.gql('query cop { __typename }'),
      await g.gql('query cop { __typename }', { extensions: { tracing: true, debug: true } }),
      await g.gql('{ shipments(first: 1) { totalCount } }', { as: ADMIN }),
      await g.gql('query cop { nope }'),
    ]) {
      expect(res.extensions).toBeUndefined();
      for (const e of res.errors ?? []) {
        expect(Object.keys(e.extensions ?? {}).sort()).toEqual(expect.arrayContaining(['code', 'requestId']));
        for (const key of ['tracing', 'debug', 'exception', 'stacktrace', 'serviceName']) expect(e.extensions).not.toHaveProperty(key);
      }
    }
  });

  test('field suggestions are absent: misspelled field, argument and type', async () => {
    const probes = [
      '{ shipmnts(first: 1) { totalCount } }',
      '{ shipments(frist: 1) { totalCount } }',
      'query ($f: ShipmentFiltr) { shipments(filter: $f) { totalCount } }',
      '{ shipments(first: 1) { edges { node { trackingNumbr } } } }',
    ];
    for (const query of probes) {
      const res = await g.gql(query, { as: ADMIN });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res)).not.toMatch(/did you mean/i);
      expect(new Set(codes(res))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
    }
  });

  test('GraphiQL, Playground and Sandbox are absent', async () => {
    for (const path of ['/graphql', '/graphiql', '/playground', '/sandbox', '/']) {
      const res = await g.raw({ method: 'GET', path, headers: { accept: 'text/html' } });
      expect(res.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
      expect(res.text).not.toMatch(/graphiql|playground|sandbox|embeddable|<html/i);
    }
  });

  test('introspection is absent: __schema and __type are INTROSPECTION_DISABLED, for admins too', async () => {
    for (const query of ['query cop { __schema { types { name } } }', '{ __type(name: "Shipment") { name fields { name } } }', '{ shipments(first: 1) { __typename } a: __schema { queryType { name } } }']) {
      const res = await g.gql(query, { as: ADMIN });
      expect(res.status).toBe(400);
      expect(res.data).toBeUndefined();
      expect(codes(res)).toContain('INTROSPECTION_DISABLED');
      expect(JSON.stringify(res)).not.toContain('Shipment"');
    }
  });

  test('an unhandled error has no stack trace: only a generic message, the code and the request id', async () => {
    // The subgraphs are down: the fetch fails inside the gateway.
    const res = await g.gql('{ shipments(first: 1) { totalCount } }', { as: ADMIN, headers: { 'x-request-id': 'cop-unhandled-0001' } });
    expect(codes(res)).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(res.errors![0]).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'cop-unhandled-0001' } });
    expect(Object.keys(res.errors![0].extensions!).sort()).toEqual(['code', 'requestId']);
    expect(JSON.stringify(res)).not.toMatch(/stacktrace|ECONNREFUSED|at .*\.[jt]s|node_modules/);
    // A malformed document: graphql-cop's other probe for unhandled errors.
    const broken = await g.gql('query cop { __typename @');
    expect(codes(broken)).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(JSON.stringify(broken)).not.toMatch(/stacktrace|at .*\.[jt]s/);
  });
});
