/**
 * Cost analysis: list sizes multiply (a slicing argument, else its default,
 * else an assumed size), nested lists multiply, connections size their
 * edges, mutations cost more, fragments on different object types are
 * alternatives; and the gateway refuses an operation above the maximum
 * with COST_LIMIT_EXCEEDED, the computed cost and the limit, before any
 * subgraph is called.
 */
import { ApolloGateway } from '@apollo/gateway';
import { type GraphQLSchema, type OperationDefinitionNode, buildSchema, getOperationAST, parse } from 'graphql';
import { DEFAULT_COSTS, estimateCost, type CostOptions } from '../../lib/limits';
import { loadSupergraphSdl } from '../../schema';
import { ADMIN, codes, startHardenedGateway } from './kit';

let api: GraphQLSchema;

beforeAll(async () => {
  const gw = new ApolloGateway({ supergraphSdl: loadSupergraphSdl() });
  api = (await gw.load()).schema;
  await gw.stop();
});

function cost(schema: GraphQLSchema, query: string, variables: Record<string, unknown> = {}, options: CostOptions = { costs: DEFAULT_COSTS }): number {
  const doc = parse(query);
  return estimateCost(schema, doc, getOperationAST(doc) as OperationDefinitionNode, variables, options);
}

describe('estimateCost on our schema', () => {
  test('a connection costs its object plus `first` times its edge and node', () => {
    // shipments 1 + 10 × (edge 1 + node 1)
    expect(cost(api, '{ shipments(first: 10) { edges { node { id trackingNumber } } } }')).toBe(21);
  });

  test('the slicing argument may be a variable, its default, or the argument default', () => {
    const q = 'query ($n: Int) { shipments(first: $n) { edges { node { id } } } }';
    expect(cost(api, q, { n: 50 })).toBe(101);
    expect(cost(api, 'query ($n: Int = 5) { shipments(first: $n) { edges { node { id } } } }')).toBe(11);
    // Not given at all: `first: Int = 20` in the schema.
    expect(cost(api, '{ shipments { edges { node { id } } } }')).toBe(41);
  });

  test('nested lists multiply', () => {
    // 1 + 10 × (1 + 1 + [events 1 + 5 × (1 + 1)])
    expect(cost(api, '{ shipments(first: 10) { edges { node { events(first: 5) { edges { node { status } } } } } } }')).toBe(131);
    expect(cost(api, '{ shipments(first: 100) { edges { node { events(first: 100) { edges { node { status } } } } } } }')).toBe(20301);
  });

  test('a list without a slicing argument takes its assumed size from the cost map, else the default', () => {
    // devices: assumed 5
    expect(cost(api, '{ shipment(id: "s") { devices { id } } }')).toBe(1 + 5);
    expect(cost(api, '{ shipment(id: "s") { devices { id } } }', {}, { costs: {} })).toBe(1 + 10);
    expect(cost(api, '{ shipment(id: "s") { devices { id } } }', {}, { costs: { 'Shipment.devices': { listSize: { assumedSize: 2 } } } })).toBe(1 + 2);
  });

  test('scalars are free, lists of scalars too', () => {
    expect(cost(api, '{ shipment(id: "s") { id trackingNumber status parcels { barcode } } }')).toBe(1 + 10);
    expect(cost(api, '{ shipment(id: "s") { proofOfDelivery { scannedBarcodes } } }')).toBe(2);
  });

  test('a mutation root field costs 10', () => {
    expect(cost(api, 'mutation ($i: RecordTrackingEventInput!) { recordTrackingEvent(input: $i) { id } }')).toBe(10);
  });

  test('fragments count once per spread, skipped selections not at all', () => {
    const q = `query ($skip: Boolean!) { a: shipments(first: 2) { ...E } b: shipments(first: 3) @skip(if: $skip) { ...E } } fragment E on ShipmentConnection { edges { node { id } } }`;
    expect(cost(api, q, { skip: false })).toBe(5 + 7);
    expect(cost(api, q, { skip: true })).toBe(5);
  });

  test('@listSize-style config: slicing arguments, sized fields and costs from the map', () => {
    const schema = buildSchema(`
      type Query { search(limit: Int, page: Int): SearchResult!, items(limit: Int): [Item!]! }
      type SearchResult { results: [Item!]!, total: Int! }
      interface Named { name: String! }
      type Item implements Named { id: ID!, name: String!, related: [Item!]! }
      type Other implements Named { name: String!, heavy: Item! }
      union Thing = Item | Other
    `);
    expect(cost(schema, '{ items(limit: 7) { id } }', {}, {})).toBe(7);
    expect(cost(schema, '{ search(limit: 4) { results { id } } }', {}, { costs: { 'Query.search': { listSize: { slicingArguments: ['limit'], sizedFields: ['results'] } } } })).toBe(1 + 4);
    expect(cost(schema, '{ items(limit: 2) { related { id } } }', {}, { costs: { 'Item.related': { cost: 5, listSize: { assumedSize: 3 } } } })).toBe(2 * (1 + 3 * 5));
  });

  test('on an abstract type, fragments for different object types are alternatives: the dearest counts', () => {
    const schema = buildSchema(`
      type Query { things: [Thing!]! }
      union Thing = Item | Other
      type Item { id: ID!, related: [Item!]! }
      type Other { heavy: Item! }
    `);
    // things: 10 × (1 + max(related 10 × 1, heavy 1))
    expect(cost(schema, '{ things { ... on Item { related { id } } ... on Other { heavy { id } } } }', {}, {})).toBe(10 * (1 + 10));
  });
});

describe('at the gateway', () => {
  test('an operation above the maximum is COST_LIMIT_EXCEEDED with its cost and the limit; the variables count', async () => {
    const g = await startHardenedGateway('production');
    try {
      const q = 'query ($n: Int!, $m: Int!) { shipments(first: $n) { edges { node { events(first: $m) { edges { node { status } } } } } } }';
      const refused = await g.gql(q, { as: ADMIN, variables: { n: 100, m: 100 } });
      expect(refused.status).toBe(400);
      expect(codes(refused)).toEqual(['COST_LIMIT_EXCEEDED']);
      expect(refused.errors![0].extensions).toMatchObject({ cost: 20301, limit: 5000 });
      // The same document with small variables is admitted: it gets as far as the (closed) subgraph.
      const admitted = await g.gql(q, { as: ADMIN, variables: { n: 10, m: 5 } });
      expect(codes(admitted)).toEqual(['INTERNAL_SERVER_ERROR']);
    } finally {
      await g.stop();
    }
  });

  test('the maximum is configurable', async () => {
    const g = await startHardenedGateway('production', { hardening: { limits: { maxCost: 20 } } });
    try {
      const res = await g.gql('{ shipments(first: 10) { edges { node { id } } } }', { as: ADMIN });
      expect(res.errors![0].extensions).toMatchObject({ code: 'COST_LIMIT_EXCEEDED', cost: 21, limit: 20 });
    } finally {
      await g.stop();
    }
  });
});
