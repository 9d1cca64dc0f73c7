/**
 * What errors tell a client in each environment. Production: a generic
 * message, the code and the request id — no field, type, argument or enum
 * name (clairvoyance rebuilds a schema from those), no suggestion, no
 * stack. Staging: the validation message without suggestions.
 * Development: everything, for the developer.
 */
import { ApolloGateway } from '@apollo/gateway';
import { type GraphQLSchema, isEnumType, isInputObjectType, isInterfaceType, isObjectType } from 'graphql';
import { loadSupergraphSdl } from '../../schema';
import { ADMIN, codes, startHardenedGateway, type GqlResponse, type HardenedGateway } from './kit';

/** Requests a client gets wrong in every way graphql-js can explain with schema names. */
const PROBES: Array<{ name: string; query: string; variables?: Record<string, unknown> }> = [
  { name: 'misspelled field', query: '{ shipmnts(first: 1) { totalCount } }' },
  { name: 'misspelled nested field', query: '{ shipments(first: 1) { edges { node { trackingNumbr } } } }' },
  { name: 'misspelled argument', query: '{ shipments(frist: 1) { totalCount } }' },
  { name: 'misspelled type', query: 'query ($f: ShipmentFiltr) { shipments(filter: $f) { totalCount } }' },
  { name: 'misspelled fragment type', query: '{ shipment(id: "x") { ... on Shipmnt { id } } }' },
  { name: 'misspelled enum literal', query: '{ shipments(first: 1, filter: { status: [IN_TRANSITT] }) { totalCount } }' },
  { name: 'misspelled enum in variables', query: 'query ($f: ShipmentFilter) { shipments(filter: $f) { totalCount } }', variables: { f: { status: ['IN_TRANSITT'] } } },
  { name: 'misspelled input field in variables', query: 'query ($f: ShipmentFilter) { shipments(filter: $f) { totalCount } }', variables: { f: { statsu: ['IN_TRANSIT'] } } },
  { name: 'wrong argument type', query: '{ shipments(first: "ten") { totalCount } }' },
  { name: 'missing required argument', query: '{ shipment { id } }' },
  { name: 'selection on a scalar', query: '{ shipments(first: 1) { totalCount { x } } }' },
  { name: 'missing selection on an object', query: '{ shipments(first: 1) }' },
];

let schema: GraphQLSchema;
/** Every type, field, argument and enum value name of the API schema. */
let schemaNames: string[];

beforeAll(async () => {
  const gw = new ApolloGateway({ supergraphSdl: loadSupergraphSdl() });
  schema = (await gw.load()).schema;
  await gw.stop();
  const names = new Set<string>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    names.add(type.name);
    if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
      for (const f of Object.values(type.getFields())) {
        names.add(f.name);
        for (const a of 'args' in f ? f.args : []) names.add(a.name);
      }
    }
    if (isEnumType(type)) for (const v of type.getValues()) names.add(v.name);
  }
  schemaNames = [...names];
});

/** Schema names in what the errors say: messages and string values of extensions (not the keys). */
function leakedNames(res: GqlResponse): string[] {
  const said = (res.errors ?? []).flatMap((e) => [e.message, ...Object.values(e.extensions ?? {}).filter((v): v is string => typeof v === 'string')]).join('\n');
  return schemaNames.filter((n) => new RegExp(`\\b${n}\\b`).test(said));
}

describe('production', () => {
  let g: HardenedGateway;
  beforeAll(async () => {
    g = await startHardenedGateway('production');
  });
  afterAll(async () => {
    await g?.stop();
  });

  test.each(PROBES)('$name: a generic message, the code and the request id only', async ({ query, variables }) => {
    const res = await g.gql(query, { as: ADMIN, variables, headers: { 'x-request-id': 'hygiene-probe-0001' } });
    expect(res.status).toBe(400);
    expect(res.data ?? undefined).toBeUndefined();
    expect(res.errors!.length).toBeGreaterThan(0);
    for (const e of res.errors!) {
      expect(['GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']).toContain(e.extensions!.code);
      expect(e).toEqual({ message: e.extensions!.code === 'BAD_USER_INPUT' ? 'Invalid variables' : 'Operation failed validation', extensions: { code: e.extensions!.code, requestId: 'hygiene-probe-0001' } });
    }
    expect(leakedNames(res)).toEqual([]);
    expect(JSON.stringify(res)).not.toMatch(/did you mean|stacktrace|\bat .*\.[jt]s/i);
  });

  test('refusals of the hardening carry numbers and fixed words, never names', async () => {
    const res = await g.gql(`{ shipments(first: 100) { edges { node { events(first: 100) { edges { node { status } } } } } } }`, { as: ADMIN });
    expect(codes(res)).toEqual(['COST_LIMIT_EXCEEDED']);
    expect(leakedNames(res)).toEqual([]);
    expect(Object.keys(res.errors![0].extensions!).sort()).toEqual(['code', 'cost', 'limit', 'requestId']);
  });

  test('an error raised deep in the gateway is masked: no address, no stack, no subgraph name', async () => {
    const res = await g.gql(`{ shipments(first: 1) { totalCount } }`, { as: ADMIN });
    expect(codes(res)).toEqual(['INTERNAL_SERVER_ERROR']);
    const text = JSON.stringify(res);
    expect(text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|fetch failed|stacktrace|serviceName|shipment subgraph/i);
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

  test.each(PROBES)('$name: the message stays, its suggestion goes', async ({ query, variables }) => {
    const res = await g.gql(query, { as: ADMIN, variables });
    expect(res.status).toBe(400);
    expect(res.errors!.length).toBeGreaterThan(0);
    expect(JSON.stringify(res)).not.toMatch(/did you mean|stacktrace/i);
    for (const e of res.errors!) expect(e.message).not.toMatch(/\?\s*$|\s$/);
  });

  test("the name detector works: staging's messages do name the schema", async () => {
    const res = await g.gql('{ shipments(frist: 1) { totalCount } }', { as: ADMIN });
    expect(leakedNames(res)).toEqual(expect.arrayContaining(['shipments']));
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

  test('keeps the detail: the message names the field and suggests the right one', async () => {
    const res = await g.gql('{ shipmnts(first: 1) { totalCount } }', { as: ADMIN });
    expect(codes(res)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(res.errors![0].message).toMatch(/Cannot query field "shipmnts" on type "Query"\. Did you mean "shipments"/);
  });
});
