/**
 * ABAC over data region and data tag, as a property next to the BOLA test:
 * whoever asks, with whatever data regions and clearances, no response
 * carries a shipment outside them — and every shipment inside them (and its
 * tenancy) is there, so the filter is in the query, not a sieve after it
 * (`totalCount` counts what the caller may see, nothing else).
 *
 * One stack seeded with the demo plan; the test spreads the demo shipments
 * over the three regions and tags some of them (one with no `dataTags` at
 * all, as records written before tags). fast-check generates principals
 * (tenant A or B, a role that reads shipments or a PARTNER contracted with
 * B, random data regions or none, random clearances) and random target ids;
 * each run asks the gateway with a platform token (claims `data_regions`,
 * `clearances`) and the shipment subgraph's `_entities` directly with an
 * internal token (the hop carries both attributes). Replay with
 * `ABAC_SEED=<seed>`; `ABAC_RUNS` scales the run.
 *
 * Also here: where the attributes come from (user and API client records
 * through login and client_credentials), and writes that look a shipment up
 * (same NOT_FOUND as an unknown id).
 */
import fc from 'fast-check';
import { createInternalTokenSigner, type InternalTokenSigner } from '../../lib/auth/internal-token';
import { scopesForRoles } from '../../lib/auth/scopes';
import { DATA_TAGS, REGIONS, scopeOf, type DataTag, type Region, type TenantPrincipal } from '../../lib/context';
import { recordFilter } from '../../lib/caller';
import { demoClientSecret } from '../../lib/demo-credentials';
import { claimsOf, demoLogin, gqlWithToken, identityModels, login, manualClock, requestToken } from '../kit/credentials';
import { codes, plan, postGraphQL, startStack, tenantA, tenantB, userOf, type Stack } from '../kit/stack';

const RUNS = Number(process.env.ABAC_RUNS ?? 150);
const SEED = process.env.ABAC_SEED !== undefined ? Number(process.env.ABAC_SEED) : Math.floor(Math.random() * 2 ** 31);
const TARGETS_PER_RUN = 6;

const clock = manualClock();
let stack: Stack;
let signer: InternalTokenSigner;

interface Truth {
  id: string;
  tenantId: string;
  region: Region;
  dataTags: DataTag[];
}
/** Every shipment as stored after the spread below: the oracle's ground truth. */
let truth: Truth[] = [];

/** Region and tags of the i-th demo shipment (deterministic, so every combination exists in both tenants). */
function layout(i: number): { region: Region; dataTags: DataTag[] | undefined } {
  const region = REGIONS[i % REGIONS.length];
  const tagSets: Array<DataTag[] | undefined> = [[], ['HAZMAT'], [], ['MEDICAL', 'HIGH_VALUE'], ['GOVERNMENT'], undefined, ['HIGH_VALUE'], ['MEDICAL']];
  return { region, dataTags: tagSets[Math.floor(i / REGIONS.length) % tagSets.length] };
}

beforeAll(async () => {
  stack = await startStack({}, { credentialClock: clock });
  signer = createInternalTokenSigner(stack.platform.auth.internalKeys);
  const shipments = stack.platform.stores.forRegion().db!.collection<{ _id: string }>('shipments');
  let i = 0;
  for (const s of plan.shipments) {
    const { region, dataTags } = layout(i++);
    // `undefined` tags: a record written before data tags existed.
    await shipments.updateOne({ _id: s.id }, dataTags ? { $set: { region, dataTags } } : { $set: { region }, $unset: { dataTags: '' } });
    truth.push({ id: s.id, tenantId: s.tenantId, region, dataTags: dataTags ?? [] });
  }
  truth = truth.sort((a, b) => a.id.localeCompare(b.id));
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

// ---------------------------------------------------------------- the oracle

/** What `principal` may see: its tenancy, its data regions (when restricted), only tags it is cleared for. */
function visibleTo(p: TenantPrincipal): Set<string> {
  const tenants = new Set([p.tenantId, ...(p.subjectType === 'client' ? (p.partnerOf ?? []) : [])]);
  const cleared = new Set<string>(p.clearances ?? []);
  return new Set(
    truth
      .filter((s) => tenants.has(s.tenantId))
      .filter((s) => p.dataRegions === undefined || p.dataRegions.includes(s.region))
      .filter((s) => s.dataTags.every((t) => cleared.has(t)))
      .map((s) => s.id),
  );
}

// ---------------------------------------------------------------- principals

const READERS = ['TENANT_ADMIN', 'SECURITY_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT', 'DISPATCHER', 'DRIVER', 'AUDITOR'];
const DAY_SHIFT = { start: '00:00', end: '24:00', timeZone: 'UTC' };

interface Spec {
  tenant: 0 | 1;
  role: string;
  dataRegions: Region[] | undefined;
  clearances: DataTag[];
}

function principalOf(spec: Spec): TenantPrincipal {
  const base: TenantPrincipal =
    spec.role === 'PARTNER'
      ? // The demo partner: issued by tenant A, contracted with tenant B (the gateway checks it exists).
        { kind: 'user', id: plan.apiClient.id, tenantId: plan.apiClient.tenantId, roles: ['PARTNER'], scopes: ['shipments:read'], subjectType: 'client', partnerOf: plan.apiClient.partnerOf }
      : { ...userOf([tenantA, tenantB][spec.tenant].id, spec.role), scopes: scopesForRoles([spec.role]) };
  return {
    ...base,
    ...(spec.role === 'DRIVER' ? { shift: DAY_SHIFT } : {}),
    ...(spec.dataRegions !== undefined ? { dataRegions: spec.dataRegions } : {}),
    clearances: spec.clearances,
  };
}

const specArb: fc.Arbitrary<Spec> = fc.record({
  tenant: fc.constantFrom<0 | 1>(0, 1),
  role: fc.constantFrom(...READERS, 'PARTNER', 'PARTNER'),
  dataRegions: fc.option(fc.subarray([...REGIONS]), { nil: undefined, freq: 3 }),
  clearances: fc.subarray([...DATA_TAGS]),
});

// ---------------------------------------------------------------- the property

const SHIPMENT = 'id tenantId region dataTags';
const GATEWAY_QUERY = `query($region: Region, $t0: ID!, $t1: ID!, $t2: ID!, $t3: ID!, $t4: ID!, $t5: ID!) {
  all: shipments(first: 100) { totalCount edges { node { ${SHIPMENT} } } }
  inRegion: shipments(first: 100, filter: { region: $region }) { totalCount edges { node { ${SHIPMENT} } } }
  s0: shipment(id: $t0) { ${SHIPMENT} }
  s1: shipment(id: $t1) { ${SHIPMENT} }
  s2: shipment(id: $t2) { ${SHIPMENT} }
  s3: shipment(id: $t3) { ${SHIPMENT} }
  s4: shipment(id: $t4) { ${SHIPMENT} }
  s5: shipment(id: $t5) { ${SHIPMENT} }
}`;
const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Shipment { ${SHIPMENT} } } }`;

interface Node {
  id: string;
  tenantId: string;
  region: Region;
  dataTags: DataTag[];
}

const stats = { runs: 0, cases: 0, seen: 0, hidden: 0 };

test(`random principals with random data regions and clearances see exactly the shipments inside them (seed ${SEED})`, async () => {
  const targetArb = fc.array(
    fc.nat({ max: plan.shipments.length + 1 }).map((n) => plan.shipments[n]?.id ?? (n === plan.shipments.length ? 'ffffffffffffffffffffffff' : 'not-an-id')),
    { minLength: TARGETS_PER_RUN, maxLength: TARGETS_PER_RUN },
  );
  await fc.assert(
    fc.asyncProperty(specArb, targetArb, fc.constantFrom(...REGIONS), async (spec, targets, region) => {
      const p = principalOf(spec);
      const visible = visibleTo(p);
      const label = JSON.stringify({ ...spec, id: p.id });
      stats.runs++;

      // 1. Through the gateway with a platform token: the claims carry the attributes.
      const vars: Record<string, unknown> = { region };
      targets.forEach((t, i) => (vars[`t${i}`] = t));
      const res = await postGraphQL<Record<string, any>>(stack.platform.gatewayUrl, GATEWAY_QUERY, vars, { authorization: `Bearer ${await stack.tokenFor(p)}` });
      expect([label, res.errors]).toEqual([label, undefined]);
      const all: Node[] = res.data!.all.edges.map((e: { node: Node }) => e.node);
      expect([label, all.map((n) => n.id).sort()]).toEqual([label, [...visible].sort()]);
      expect([label, res.data!.all.totalCount]).toEqual([label, visible.size]);
      const inRegion: Node[] = res.data!.inRegion.edges.map((e: { node: Node }) => e.node);
      const expectedInRegion = truth.filter((s) => visible.has(s.id) && s.region === region).map((s) => s.id);
      // The caller's own region filter narrows the restriction, never replaces it.
      expect([label, region, inRegion.map((n) => n.id).sort()]).toEqual([label, region, expectedInRegion.sort()]);
      expect([label, region, res.data!.inRegion.totalCount]).toEqual([label, region, expectedInRegion.length]);
      targets.forEach((t, i) => {
        const got = res.data![`s${i}`] as Node | null;
        expect([label, t, got?.id ?? null]).toEqual([label, t, visible.has(t) ? t : null]);
      });
      stats.cases += 2 + targets.length;
      stats.seen += all.length;
      stats.hidden += truth.length - visible.size;

      // 2. Straight to the shipment subgraph's `_entities`, past the gateway, with an internal token for the principal.
      const direct = await postGraphQL<{ _entities: Array<Node | null> }>(
        stack.platform.subgraphUrls.shipment,
        ENTITIES,
        { r: targets.map((id) => ({ __typename: 'Shipment', id })) },
        { authorization: `Bearer ${await signer.tokenFor(p, 'shipment')}` },
      );
      const entities = direct.data?._entities ?? [];
      expect([label, entities.length]).toEqual([label, targets.length]);
      targets.forEach((t, i) => expect([label, 'entities', t, entities[i]?.id ?? null]).toEqual([label, 'entities', t, visible.has(t) ? t : null]));
      stats.cases += targets.length;

      // Whatever came back lies inside the principal's attributes.
      for (const n of [...all, ...inRegion, ...(entities.filter(Boolean) as Node[])]) {
        if (p.dataRegions !== undefined) expect([label, n.id, p.dataRegions.includes(n.region)]).toEqual([label, n.id, true]);
        expect([label, n.id, n.dataTags.every((t) => (p.clearances ?? []).includes(t))]).toEqual([label, n.id, true]);
      }
    }),
    { numRuns: RUNS, seed: SEED },
  );
  // Not vacuous: some principals saw shipments, and the restrictions hid some inside their tenancy.
  expect(stats.seen).toBeGreaterThan(0);
  expect(stats.hidden).toBeGreaterThan(0);
  expect(stats.cases).toBeGreaterThanOrEqual(RUNS * (2 + 2 * TARGETS_PER_RUN));
}, 180_000);

// ---------------------------------------------------------------- the pieces

describe('the data scope and its query conditions', () => {
  test('people and clients are scoped by their attributes; system tasks are not; anonymous callers see nothing', () => {
    const p = userOf(tenantA.id, 'SUPPORT_AGENT');
    expect(scopeOf({ ...p, dataRegions: ['EU'], clearances: ['MEDICAL'] })).toEqual({ tenantIds: [tenantA.id], regions: ['EU'], clearances: ['MEDICAL'] });
    // No region list: no region restriction; no clearances: none.
    expect(scopeOf(p)).toEqual({ tenantIds: [tenantA.id], clearances: [] });
    // Unknown values from a token are dropped, never read as "unrestricted".
    expect(scopeOf({ ...p, dataRegions: ['MARS'] as never, clearances: ['SECRET'] as never })).toEqual({ tenantIds: [tenantA.id], regions: [], clearances: [] });
    expect(scopeOf({ kind: 'system', id: 'seed' })).toEqual({});
    expect(scopeOf({ kind: 'anonymous' })).toEqual({ tenantIds: [], regions: [], clearances: [] });
  });

  test('the query condition names the regions allowed and the tags not cleared', () => {
    expect(JSON.parse(JSON.stringify(recordFilter({ regions: ['EU'], clearances: ['MEDICAL'] })))).toEqual({
      $and: [{ region: { $in: ['EU'] } }, { dataTags: { $nin: ['HAZMAT', 'HIGH_VALUE', 'GOVERNMENT'] } }],
    });
    expect(recordFilter({ tenantIds: ['t'], clearances: [...DATA_TAGS] })).toEqual({});
    expect(recordFilter({})).toEqual({});
  });
});

describe('where the attributes come from', () => {
  test('the development login puts the user record’s data regions and clearances into the token', async () => {
    const agent = plan.users.find((u) => u.tenantId === tenantB.id && u.roles.includes('SUPPORT_AGENT'))!;
    const users = identityModels(stack).User;
    await users.updateOne({ _id: agent.id }, { $set: { dataRegions: ['EU'], clearances: ['MEDICAL'] } });
    try {
      const res = await login(stack, await demoLogin(agent.email, clock));
      expect(res.status).toBe(200);
      expect(claimsOf(res.body.access_token)).toMatchObject({ data_regions: ['EU'], clearances: ['MEDICAL'] });
      // A US tenant's support agent restricted to the EU sees only the EU shipments of its tenant it is cleared for.
      const list = await gqlWithToken(stack, res.body.access_token, `{ shipments(first: 100) { totalCount edges { node { region dataTags } } } }`);
      expect(list.body.errors).toBeUndefined();
      const nodes: Array<{ region: string; dataTags: string[] }> = list.body.data.shipments.edges.map((e: { node: unknown }) => e.node);
      expect(nodes.length).toBe(truth.filter((s) => s.tenantId === tenantB.id && s.region === 'EU' && s.dataTags.every((t) => t === 'MEDICAL')).length);
      expect(nodes.length).toBeGreaterThan(0);
      expect(nodes.every((n) => n.region === 'EU' && n.dataTags.every((t) => t === 'MEDICAL'))).toBe(true);
    } finally {
      await users.updateOne({ _id: agent.id }, { $unset: { dataRegions: '', clearances: '' } });
    }
  });

  test('a user record without attributes gives a token without a region restriction and without clearances', async () => {
    const res = await login(stack, await demoLogin('dispatcher@northwind.example', clock));
    const claims = claimsOf(res.body.access_token);
    expect(claims.data_regions).toBeUndefined();
    expect(claims.clearances).toBeUndefined();
  });

  test('client_credentials puts the API client record’s attributes into the partner token', async () => {
    const clients = identityModels(stack).ApiClient;
    await clients.updateOne({ _id: plan.apiClient.id }, { $set: { dataRegions: ['US', 'APAC'], clearances: ['HAZMAT'] } });
    try {
      const res = await requestToken(stack, { grant_type: 'client_credentials', scope: 'shipments:read' }, { basic: [plan.apiClient.id, demoClientSecret(plan.apiClient.id)] });
      expect(res.status).toBe(200);
      expect(claimsOf(res.body.access_token)).toMatchObject({ data_regions: ['US', 'APAC'], clearances: ['HAZMAT'] });
      const list = await gqlWithToken(stack, res.body.access_token, `{ shipments(first: 100) { totalCount } }`);
      const partner = principalOf({ tenant: 0, role: 'PARTNER', dataRegions: ['US', 'APAC'], clearances: ['HAZMAT'] });
      expect(list.body.data.shipments.totalCount).toBe(visibleTo(partner).size);
    } finally {
      await clients.updateOne({ _id: plan.apiClient.id }, { $unset: { dataRegions: '', clearances: '' } });
    }
  });
});

describe('writes that look a shipment up', () => {
  const outside = () => truth.find((s) => s.tenantId === tenantA.id && s.region === 'US' && s.dataTags.length === 0)!;
  const tagged = () => truth.find((s) => s.tenantId === tenantA.id && s.dataTags.includes('HAZMAT'))!;

  test('a shipment outside the caller’s regions or clearances is NOT_FOUND, as an unknown id', async () => {
    const dispatcher: TenantPrincipal = { ...userOf(tenantA.id, 'DISPATCHER'), dataRegions: ['EU'], clearances: [] };
    const update = `mutation($id: ID!) { updateShipmentDetails(id: $id, input: { serviceLevel: "EXPRESS" }) { id } }`;
    const event = `mutation($input: RecordTrackingEventInput!) { recordTrackingEvent(input: $input) { id } }`;
    const eventInput = (shipmentId: string) => ({ shipmentId, clientEventId: `abac-${shipmentId}`, occurredAt: new Date().toISOString(), status: 'IN_TRANSIT' });
    for (const s of [outside(), tagged()]) {
      const updated = await stack.gql(update, { id: s.id }, { principal: dispatcher });
      expect([s.id, codes(updated), updated.errors?.[0]?.extensions?.reason]).toEqual([s.id, ['NOT_FOUND'], 'SHIPMENT_NOT_FOUND']);
      const recorded = await stack.gql(event, { input: eventInput(s.id) }, { principal: dispatcher });
      expect([s.id, codes(recorded)]).toEqual([s.id, ['NOT_FOUND']]);
    }
    // Cleared for the region and the tag: the same writes go through.
    const cleared: TenantPrincipal = { ...dispatcher, dataRegions: ['EU', 'US', 'APAC'], clearances: ['HAZMAT'] };
    const ok = await stack.gql(update, { id: tagged().id }, { principal: cleared });
    expect(ok.errors).toBeUndefined();
  });
});
