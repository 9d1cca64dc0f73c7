/**
 * In-flight deduplication per principal (gateway/inflight.ts): identical
 * concurrent queries of one principal share one subgraph request (and one
 * execution at the operation level); two principals — other user, other
 * tenant, other scopes — never share, nor anonymous callers, nor
 * mutations; switched off, nothing shares.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'graphql';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { SubgraphDataSource } from '../../gateway/datasource';
import { Inflight, dedupOperations, isQueryDocument, principalKey, type LoadableGateway } from '../../gateway/inflight';
import type { Principal, RequestContext, TenantPrincipal } from '../../lib/context';
import type { InternalTokenSigner } from '../../lib/auth/internal-token';

const user = (over: Partial<TenantPrincipal> = {}): TenantPrincipal =>
  Object.freeze({ kind: 'user', id: 'u1', tenantId: 't1', roles: ['TENANT_ADMIN'], scopes: ['shipments:read'], region: 'EU', amr: ['pwd', 'otp', 'mfa'], authTime: 1000, tokenId: 'jti-1', expiresAt: 5000, ...over }) as TenantPrincipal;
const ALICE = user();
const ALICE_OTHER_TOKEN = user({ tokenId: 'jti-2', expiresAt: 6000 });
const BOB = user({ id: 'u2' });
const ALICE_ELSEWHERE = user({ tenantId: 't2' });
const ALICE_FEWER_SCOPES = user({ scopes: [] });
const ALICE_OTHER_LOGIN = user({ authTime: 2000 });
const ANONYMOUS: Principal = { kind: 'anonymous' };

let server: Server;
let url: string;
let seen: Array<{ authorization?: string; requestId?: string; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ authorization: req.headers.authorization, requestId: req.headers['x-request-id'] as string | undefined, body });
      // Slow enough that concurrent callers overlap.
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ data: { n: seen.length, who: req.headers.authorization } }));
      }, 40);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

beforeEach(() => {
  seen = [];
});

// One hop token per principal object, as the real signer (which keys on the whole principal, token id included).
const signer: InternalTokenSigner = { tokenFor: async (p) => `hop.${Buffer.from(JSON.stringify(p)).toString('base64url')}` };
const source = (dedup?: boolean) => new SubgraphDataSource({ name: 'shipment', url, timeoutMs: 2000, signer, dedup });
let requests = 0;
const fetchAs = (ds: SubgraphDataSource, principal: Principal, query = '{ shipments { id } }', variables: Record<string, unknown> = {}) =>
  ds.process({
    kind: 'incoming operation',
    request: { query, variables },
    context: { principal, requestId: `req-${++requests}` } as RequestContext,
    incomingRequestContext: {} as never,
  } as unknown as GraphQLDataSourceProcessOptions<RequestContext>);

describe('subgraph fetches', () => {
  it('the same principal’s identical concurrent queries share one request; each gets its own parsed copy', async () => {
    const ds = source();
    const [a, b, c] = await Promise.all([fetchAs(ds, ALICE), fetchAs(ds, ALICE), fetchAs(ds, ALICE)]);
    expect(seen).toHaveLength(1);
    expect(a.data).toEqual(b.data);
    expect(a.data).not.toBe(b.data);
    expect(b.data).not.toBe(c.data);
    expect(ds.inflight!.joined).toBe(2);
    // Only while in flight: the next one goes out again.
    await fetchAs(ds, ALICE);
    expect(seen).toHaveLength(2);
  });

  it('two tokens of one user with the same grants and login share (the token id is not part of the principal key)', async () => {
    const ds = source();
    await Promise.all([fetchAs(ds, ALICE), fetchAs(ds, ALICE_OTHER_TOKEN)]);
    expect(seen).toHaveLength(1);
  });

  it.each([
    ['another user of the same tenant', BOB],
    ['the same user id in another tenant', ALICE_ELSEWHERE],
    ['the same user with other scopes', ALICE_FEWER_SCOPES],
    ['the same user from another login', ALICE_OTHER_LOGIN],
  ])('two principals never share: %s', async (_what, other) => {
    const ds = source();
    const [mine, theirs] = await Promise.all([fetchAs(ds, ALICE), fetchAs(ds, other)]);
    expect(seen).toHaveLength(2);
    // Each request went out with its own principal's hop token and came back with its own answer.
    expect(new Set(seen.map((s) => s.authorization)).size).toBe(2);
    expect((mine.data as { who: string }).who).not.toBe((theirs.data as { who: string }).who);
  });

  it('never shares anonymous requests', async () => {
    const ds = source();
    await Promise.all([fetchAs(ds, ANONYMOUS), fetchAs(ds, ANONYMOUS)]);
    expect(seen).toHaveLength(2);
  });

  it('never shares mutations, subscriptions or documents with several operations', async () => {
    const ds = source();
    const mutation = 'mutation { recordTrackingEvent(input: {}) { id } }';
    await Promise.all([fetchAs(ds, ALICE, mutation), fetchAs(ds, ALICE, mutation)]);
    expect(seen).toHaveLength(2);
    const two = 'query A { a } mutation B { b }';
    await Promise.all([fetchAs(ds, ALICE, two), fetchAs(ds, ALICE, two)]);
    expect(seen).toHaveLength(4);
    expect(isQueryDocument('subscription { a }')).toBe(false);
    // Audited reads run (and are recorded) once per request.
    expect(isQueryDocument('query { shipmentsByRecipientContact(email: "a@example.com") { id } }')).toBe(false);
    expect(isQueryDocument('{ a }')).toBe(true);
    expect(isQueryDocument('not graphql')).toBe(false);
  });

  it('different variables (other entity representations) do not share', async () => {
    const ds = source();
    const q = 'query($representations: [_Any!]!) { _entities(representations: $representations) { __typename } }';
    await Promise.all([fetchAs(ds, ALICE, q, { representations: [{ __typename: 'Shipment', id: '1' }] }), fetchAs(ds, ALICE, q, { representations: [{ __typename: 'Shipment', id: '2' }] })]);
    expect(seen).toHaveLength(2);
  });

  it('switched off, nothing shares', async () => {
    const ds = source(false);
    await Promise.all([fetchAs(ds, ALICE), fetchAs(ds, ALICE)]);
    expect(seen).toHaveLength(2);
    expect(ds.inflight).toBeUndefined();
  });

  it('sends the request id and the hop token of its principal', async () => {
    const ds = source();
    await fetchAs(ds, ALICE);
    expect(seen[0].requestId).toMatch(/^req-\d+$/);
    expect(seen[0].authorization).toBe(`Bearer ${await signer.tokenFor(ALICE, 'shipment')}`);
  });
});

describe('principal key', () => {
  it('is null for anonymous and system callers, and leaves out only the token id and expiry', () => {
    expect(principalKey(ANONYMOUS)).toBeNull();
    expect(principalKey({ kind: 'system', id: 'seed' })).toBeNull();
    expect(principalKey(undefined)).toBeNull();
    expect(principalKey(ALICE)).toBe(principalKey(ALICE_OTHER_TOKEN));
    expect(principalKey(ALICE)).not.toContain('jti-1');
    for (const other of [BOB, ALICE_ELSEWHERE, ALICE_FEWER_SCOPES, ALICE_OTHER_LOGIN, user({ roles: ['DISPATCHER'] }), user({ partnerOf: ['t9'] }), user({ subjectType: 'client' })]) {
      expect(principalKey(other)).not.toBe(principalKey(ALICE));
    }
  });
});

describe('whole operations', () => {
  function fakeGateway() {
    const calls: string[] = [];
    const gateway: LoadableGateway = {
      onSchemaLoadOrUpdate: () => () => undefined,
      stop: async () => undefined,
      load: async () =>
        ({
          executor: async (rc: { context: { principal: Principal } }) => {
            calls.push(JSON.stringify(rc.context.principal));
            await new Promise((r) => setTimeout(r, 30));
            return { data: { calls: calls.length } };
          },
        }) as never,
    };
    return { calls, gateway };
  }
  const run = async (executor: (rc: never) => Promise<unknown>, principal: Principal, source = '{ shipments { id } }', variables: Record<string, unknown> = {}) => {
    const document = parse(source);
    const operation = document.definitions[0];
    return executor({ context: { principal }, operation, queryHash: source, operationName: null, request: { query: source, variables }, overallCachePolicy: undefined } as never);
  };

  it('runs the same principal’s identical concurrent queries once, and two principals’ separately', async () => {
    const { calls, gateway } = fakeGateway();
    const deduped = dedupOperations(gateway, new Inflight());
    const { executor } = await deduped.load({ apollo: {} });
    const [a1, a2, b] = await Promise.all([run(executor, ALICE), run(executor, ALICE_OTHER_TOKEN), run(executor, BOB)]);
    expect(calls).toHaveLength(2);
    expect(a1).toBe(a2);
    expect(b).not.toBe(a1);
    await Promise.all([run(executor, ALICE), run(executor, ALICE_ELSEWHERE), run(executor, ANONYMOUS), run(executor, ANONYMOUS)]);
    expect(calls).toHaveLength(6);
  });

  it('never runs mutations once for two requests, nor queries with other variables', async () => {
    const { calls, gateway } = fakeGateway();
    const { executor } = await dedupOperations(gateway).load({ apollo: {} });
    await Promise.all([run(executor, ALICE, 'mutation { a }'), run(executor, ALICE, 'mutation { a }')]);
    expect(calls).toHaveLength(2);
    await Promise.all([run(executor, ALICE, 'query($n: Int) { a(n: $n) }', { n: 1 }), run(executor, ALICE, 'query($n: Int) { a(n: $n) }', { n: 2 })]);
    expect(calls).toHaveLength(4);
  });
});
