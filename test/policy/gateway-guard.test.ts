/**
 * The gateway guard on a real gateway whose subgraphs all point at a closed
 * port: a refusal carrying the guard's code proves no subgraph was called
 * (a call would have failed to connect), and an allowed operation gets as
 * far as that connection failure.
 */
import { createServer } from 'node:net';
import { createGateway, type GatewayServer } from '../../gateway/server';
import { createGatewayAuth, type GatewayAuth } from '../../lib/auth/runtime';
import { loadConfig } from '../../lib/config';
import type { TenantPrincipal } from '../../lib/context';
import { createLogger } from '../../lib/logger';
import { buildGatewayGuardIndex } from '../../lib/policy/gateway-guard';
import { SUBGRAPH_NAMES, loadSupergraphSdl, type SubgraphName } from '../../schema';

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

interface Result {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

const person = (roles: string[], scopes: string[]): TenantPrincipal => ({ kind: 'user', id: 'u-guard', tenantId: 'tA', roles, scopes });
const ADMIN = person(['TENANT_ADMIN'], ['shipments:read', 'shipments:write', 'devices:read', 'privacy:read']);
const AUDITOR = person(['AUDITOR'], ['shipments:read', 'devices:read', 'users:read']);
const DRIVER = person(['DRIVER'], ['shipments:read', 'events:write']);
const NO_SCOPES = person(['TENANT_ADMIN'], []);

let gateway: GatewayServer;
let auth: GatewayAuth;
let url: string;
const tokens = new Map<TenantPrincipal, string>();

beforeAll(async () => {
  const dead = await closedPort();
  const subgraphUrls = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, `http://127.0.0.1:${dead}/graphql`])) as Record<SubgraphName, string>;
  const config = loadConfig({ APP_ENV: 'development', LOG_LEVEL: 'silent', SEED: 'false' });
  auth = await createGatewayAuth(config, { ephemeral: true });
  // Identity is dead too: a stub says every caller is still active, so requests get as far as the guard and the subgraph fetch.
  const credentials = { statusSource: async () => ({ active: true }) };
  gateway = await createGateway({ appEnv: 'development', supergraphSdl: loadSupergraphSdl(), subgraphUrls, logger: createLogger('guard-test', 'silent'), subgraphTimeoutMs: 2000, auth, credentials });
  url = `http://127.0.0.1:${await gateway.listen(0)}/graphql`;
  for (const p of [ADMIN, AUDITOR, DRIVER, NO_SCOPES]) tokens.set(p, (await auth.issuer.issue(p)).token);
});

afterAll(async () => {
  await gateway?.stop();
});

/** Posts `query` as `as` (anonymous when undefined). */
async function post(query: string, as?: TenantPrincipal, variables?: Record<string, unknown>): Promise<Result> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (as) headers.authorization = `Bearer ${tokens.get(as)}`;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return { status: res.status, ...((await res.json()) as object) };
}

const codes = (r: Result) => (r.errors ?? []).map((e) => e.extensions?.code);

/** The operation got past the guard: the gateway tried to call a subgraph and could not connect. */
function reachedSubgraph(r: Result): boolean {
  const text = JSON.stringify(r.errors ?? []);
  return !codes(r).some((c) => c === 'UNAUTHENTICATED' || c === 'FORBIDDEN') && /ECONNREFUSED|fetch failed|connect/i.test(text);
}

describe('gateway guard', () => {
  describe('anonymous callers', () => {
    it('are refused with UNAUTHENTICATED for a guarded field, before any subgraph is called', async () => {
      const r = await post(`{ shipments(first: 1) { totalCount } }`);
      expect(codes(r)).toEqual(['UNAUTHENTICATED']);
      expect(r.errors![0].message).toBe('Authentication required');
      expect(r.status).toBe(200);
      expect(r.errors![0].extensions).not.toHaveProperty('http');
      expect(r.data ?? null).toBeNull();
    });

    it('reach the subgraph for a @public field and its contained values', async () => {
      const r = await post(`{ trackShipment(trackingNumber: "X", token: "Y") { carrier events { status location { city } } } }`);
      expect(reachedSubgraph(r)).toBe(true);
    });

    it('are refused when a guarded field hides behind a public one in the same operation', async () => {
      const r = await post(`{ trackShipment(trackingNumber: "X", token: "Y") { carrier } me { id } }`);
      expect(codes(r)).toEqual(['UNAUTHENTICATED']);
    });

    it('may use introspection fields: the guard leaves __typename, __schema and __type alone', async () => {
      const r = await post(`{ __typename __type(name: "Shipment") { name } __schema { queryType { name } } }`);
      expect(r.errors).toBeUndefined();
      expect(r.data).toEqual({ __typename: 'Query', __type: { name: 'Shipment' }, __schema: { queryType: { name: 'Query' } } });
    });
  });

  describe('roles (@auth)', () => {
    it('refuse a caller holding none of the root field’s roles with FORBIDDEN', async () => {
      const input = '{ carrier: "DHL", trackingNumber: "1", origin: { countryIso3: "NLD" }, destination: { countryIso3: "NLD" }, recipient: {}, parcels: [] }';
      const r = await post(`mutation { createShipment(input: ${input}) { id } }`, AUDITOR);
      expect(codes(r)).toEqual(['FORBIDDEN']);
      expect(r.errors![0].message).toBe('Forbidden');
    });

    it('refuse a field of an entity reached through an allowed root field (field guard)', async () => {
      const r = await post(`{ shipment(id: "s1") { id recipient { name } } }`, AUDITOR);
      expect(codes(r)).toEqual(['FORBIDDEN']);
    });

    it('follow the path: a DRIVER reaches Device through Shipment.devices but not through Query.devices', async () => {
      expect(reachedSubgraph(await post(`{ shipment(id: "s1") { devices { id } } }`, DRIVER))).toBe(true);
      expect(codes(await post(`{ devices { totalCount } }`, DRIVER))).toEqual(['FORBIDDEN']);
    });

    it('let a caller with the role and the scope through to the subgraphs', async () => {
      const r = await post(`{ shipment(id: "s1") { id recipient { name } devices { id } } }`, ADMIN);
      expect(reachedSubgraph(r)).toBe(true);
    });
  });

  describe('scopes (@scope)', () => {
    it('refuse a caller holding none of the scopes', async () => {
      expect(codes(await post(`{ shipments(first: 1) { totalCount } }`, NO_SCOPES))).toEqual(['FORBIDDEN']);
    });

    it('apply to sub-resources reached through another subgraph (Shipment.recipientPrivacy needs privacy:read)', async () => {
      expect(codes(await post(`{ shipment(id: "s1") { recipientPrivacy { subjectId } } }`, AUDITOR))).toEqual(['FORBIDDEN']);
    });
  });

  describe('operation shapes', () => {
    it('look through aliases', async () => {
      const r = await post(`{ mine: shipment(id: "s1") { id who: recipient { name } } }`, AUDITOR);
      expect(codes(r)).toEqual(['FORBIDDEN']);
    });

    it('look through named fragments, nested and spread twice', async () => {
      const q = `
        query { shipment(id: "s1") { ...Outer } other: shipment(id: "s2") { ...Outer } }
        fragment Outer on Shipment { id ...Inner }
        fragment Inner on Shipment { recipient { name } }`;
      expect(codes(await post(q, AUDITOR))).toEqual(['FORBIDDEN']);
      expect(reachedSubgraph(await post(q, ADMIN))).toBe(true);
    });

    it('look through inline fragments, typed and untyped', async () => {
      expect(codes(await post(`{ shipment(id: "s1") { ... on Shipment { ... { recipient { name } } } } }`, AUDITOR))).toEqual(['FORBIDDEN']);
    });

    it('skip fields excluded by @skip / @include, and check them when included', async () => {
      const q = `query($show: Boolean!) { shipment(id: "s1") { id recipient @include(if: $show) { name } } }`;
      expect(reachedSubgraph(await post(q, AUDITOR, { show: false }))).toBe(true);
      expect(codes(await post(q, AUDITOR, { show: true }))).toEqual(['FORBIDDEN']);
    });

    it('check every caller again when the operation was seen before (the fields are remembered per operation, not the decision)', async () => {
      const q = `query Remembered { shipment(id: "s3") { id recipient { name } } }`;
      expect(reachedSubgraph(await post(q, ADMIN))).toBe(true);
      expect(codes(await post(q, AUDITOR))).toEqual(['FORBIDDEN']);
      expect(codes(await post(q))).toEqual(['UNAUTHENTICATED']);
      expect(reachedSubgraph(await post(q, ADMIN))).toBe(true);
    });

    it('decide @include / @skip with each request’s variables, whatever came before', async () => {
      const q = `query Conditional($show: Boolean!) { shipment(id: "s4") { id recipient @include(if: $show) { name } } }`;
      expect(codes(await post(q, AUDITOR, { show: true }))).toEqual(['FORBIDDEN']);
      expect(reachedSubgraph(await post(q, AUDITOR, { show: false }))).toBe(true);
      expect(codes(await post(q, AUDITOR, { show: true }))).toEqual(['FORBIDDEN']);
    });

    it('check only the operation that runs in a document with several', async () => {
      const doc = `query Mine { shipment(id: "s1") { id } } query Admin { users { totalCount } }`;
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.get(AUDITOR)}` },
        body: JSON.stringify({ query: doc, operationName: 'Mine' }),
      });
      expect(reachedSubgraph({ status: res.status, ...((await res.json()) as object) })).toBe(true);
    });
  });

  describe('the index', () => {
    it('knows every field of the API schema, so no field the gateway serves is refused for lack of an entry', async () => {
      const r = await post(`{ __schema { types { name kind fields { name } } } }`);
      const types = (r.data!.__schema as { types: Array<{ name: string; kind: string; fields: Array<{ name: string }> | null }> }).types;
      const index = buildGatewayGuardIndex();
      const missing = types
        .filter((t) => t.kind === 'OBJECT' && !t.name.startsWith('__'))
        .flatMap((t) => (t.fields ?? []).map((f) => `${t.name}.${f.name}`))
        .filter((coordinate) => !index.has(coordinate));
      expect(missing).toEqual([]);
      expect(types.length).toBeGreaterThan(20);
    });

    it('maps every field of the four subgraphs, with type and field guards combined', () => {
      const index = buildGatewayGuardIndex();
      expect(index.get('Shipment.recipient')!.map((g) => g.roles)).toEqual([
        ['TENANT_ADMIN', 'SECURITY_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT', 'DISPATCHER', 'DRIVER', 'AUDITOR', 'PARTNER'],
        ['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT', 'DISPATCHER', 'DRIVER', 'PARTNER'],
      ]);
      // Defined by the device subgraph only; an @external copy (identity's Shipment.tenantId) adds nothing.
      expect(index.get('Shipment.devices')).toHaveLength(1);
      expect(index.get('Query.trackShipment')!.every((g) => g.isPublic)).toBe(true);
      expect(index.get('PageInfo.endCursor')).toEqual([]);
    });
  });
});
