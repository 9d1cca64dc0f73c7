/**
 * No user-supplied object reaches a MongoDB filter. Against the whole
 * platform (test/kit/stack.ts):
 *
 * - an operator object (`{"$ne": null}` …) sent where an ID or a String is
 *   expected is refused by GraphQL coercion at the gateway, for every root
 *   field that takes an id (the list is checked against the supergraph);
 * - a string that merely looks like an operator is a plain value: it
 *   matches nothing;
 * - `_entities` representations (`_Any`: any JSON) with operator objects,
 *   sent straight to each subgraph with a valid internal token, resolve to
 *   null or INVALID_REPRESENTATION — never to data — in all four subgraphs;
 * - mongoose's `sanitizeFilter` and `strictQuery` are on (lib/db.ts) as the
 *   last line.
 */
import mongoose from 'mongoose';
import { buildSchema, getNamedType, isInputObjectType, type GraphQLNamedType } from 'graphql';
import type { TenantPrincipal } from '../../lib/context';
import '../../lib/db';
import { loadSupergraphSdl, type SubgraphName } from '../../schema';
import { codes, plan, postGraphQL, startStack, tenantA, tenantB, userOf, type Stack } from '../kit/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

const OPERATORS: unknown[] = [{ $ne: null }, { $gt: '' }, { $regex: '.*' }, { $where: 'true' }, { $in: [tenantB.id] }, ['x']];

const admin = userOf(tenantA.id, 'TENANT_ADMIN');
const secAdmin = userOf(tenantA.id, 'SECURITY_ADMIN');
const officer = userOf(tenantA.id, 'PRIVACY_OFFICER');
const dispatcher = userOf(tenantA.id, 'DISPATCHER');
const shipmentA = plan.shipments.find((s) => s.tenantId === tenantA.id)!;

/**
 * One operation per root field taking an id, with `$v` where the id goes
 * (directly or inside its input) and valid values elsewhere, so only the
 * smuggled value can be refused.
 */
const ID_OPERATIONS: Array<{ field: string; as: TenantPrincipal; query: string; vars: (v: unknown) => Record<string, unknown> }> = [
  { field: 'Query.shipment', as: admin, query: 'query ($v: ID!) { shipment(id: $v) { id } }', vars: (v) => ({ v }) },
  { field: 'Query.device', as: admin, query: 'query ($v: ID!) { device(id: $v) { id } }', vars: (v) => ({ v }) },
  { field: 'Query.tenant', as: admin, query: 'query ($v: ID!) { tenant(id: $v) { id } }', vars: (v) => ({ v }) },
  { field: 'Query.privacySettings', as: officer, query: 'query ($v: ID!) { privacySettings(subjectId: $v) { subjectId } }', vars: (v) => ({ v }) },
  {
    field: 'Mutation.updateShipmentDetails',
    as: admin,
    query: 'mutation ($v: ID!) { updateShipmentDetails(id: $v, input: { serviceLevel: "GROUND" }) { id } }',
    vars: (v) => ({ v }),
  },
  { field: 'Mutation.revealShipment', as: admin, query: 'mutation ($v: ID!) { revealShipment(id: $v, reason: "nosql") { fields } }', vars: (v) => ({ v }) },
  { field: 'Mutation.revealUser', as: secAdmin, query: 'mutation ($v: ID!) { revealUser(id: $v, reason: "nosql") { fields } }', vars: (v) => ({ v }) },
  { field: 'Mutation.approveElevation', as: secAdmin, query: 'mutation ($v: ID!) { approveElevation(id: $v) { id } }', vars: (v) => ({ v }) },
  { field: 'Mutation.denyElevation', as: secAdmin, query: 'mutation ($v: ID!) { denyElevation(id: $v, reason: "no") { id } }', vars: (v) => ({ v }) },
  {
    field: 'Mutation.updateDataSubjectRequestStatus',
    as: officer,
    query: 'mutation ($v: ID!) { updateDataSubjectRequestStatus(id: $v, status: IN_PROGRESS) { id } }',
    vars: (v) => ({ v }),
  },
  {
    field: 'Mutation.updatePrivacySettings',
    as: officer,
    query: 'mutation ($v: ID!) { updatePrivacySettings(subjectId: $v, input: { dataSharing: { marketing: false } }) { subjectId } }',
    vars: (v) => ({ v }),
  },
  {
    field: 'Mutation.recordTrackingEvent',
    as: dispatcher,
    query: 'mutation ($i: RecordTrackingEventInput!) { recordTrackingEvent(input: $i) { id } }',
    vars: (v) => ({ i: { shipmentId: v, clientEventId: 'nosql-1', occurredAt: new Date().toISOString(), status: 'IN_TRANSIT' } }),
  },
  {
    field: 'Mutation.recordSensorReading',
    // A seeded, active device of tenant A (the gateway checks the device's status on every request).
    as: { ...admin, id: plan.devices.find((d) => d.tenantId === tenantA.id && d.kind === 'SENSOR_TAG')!.id, roles: ['DEVICE'], scopes: ['readings:write'], subjectType: 'device' },
    query: 'mutation ($i: RecordSensorReadingInput!) { recordSensorReading(input: $i) { id } }',
    vars: (v) => ({ i: { deviceId: v, shipmentId: shipmentA.id, clientReadingId: 'nosql-1', recordedAt: new Date().toISOString(), type: 'TEMPERATURE', value: 4, unit: 'CEL' } }),
  },
  {
    field: 'Mutation.createDataSubjectRequest',
    as: officer,
    query: 'mutation ($i: CreateDataSubjectRequestInput!) { createDataSubjectRequest(input: $i) { id } }',
    vars: (v) => ({ i: { subjectId: v, kind: 'ACCESS' } }),
  },
];

/** String arguments and filter fields of the lists and public lookups. */
const STRING_OPERATIONS: Array<{ field: string; query: string; vars: (v: unknown) => Record<string, unknown>; as: TenantPrincipal | null }> = [
  { field: 'shipments(filter.trackingNumber)', as: admin, query: 'query ($f: ShipmentFilter) { shipments(filter: $f) { totalCount } }', vars: (v) => ({ f: { trackingNumber: v } }) },
  { field: 'shipments(filter.carrier)', as: admin, query: 'query ($f: ShipmentFilter) { shipments(filter: $f) { totalCount } }', vars: (v) => ({ f: { carrier: v } }) },
  { field: 'shipments(after)', as: admin, query: 'query ($v: String) { shipments(after: $v) { totalCount } }', vars: (v) => ({ v }) },
  { field: 'trackShipment', as: null, query: 'query ($v: String!) { trackShipment(trackingNumber: $v, token: $v) { status } }', vars: (v) => ({ v }) },
];

describe('operator objects in variables are refused by GraphQL coercion at the gateway', () => {
  test('the list covers every root field that takes an ID, directly or inside its input', () => {
    const supergraph = buildSchema(loadSupergraphSdl(), { assumeValidSDL: true });
    const hasId = (type: GraphQLNamedType, seen = new Set<string>()): boolean => {
      if (type.name === 'ID') return true;
      if (!isInputObjectType(type) || seen.has(type.name)) return false;
      seen.add(type.name);
      return Object.values(type.getFields()).some((f) => hasId(getNamedType(f.type), seen));
    };
    const idTaking = [supergraph.getQueryType()!, supergraph.getMutationType()!].flatMap((root) =>
      Object.values(root.getFields())
        .filter((f) => f.args.some((a) => hasId(getNamedType(a.type))))
        .map((f) => `${root.name}.${f.name}`),
    );
    expect(ID_OPERATIONS.map((o) => o.field).sort()).toEqual(idTaking.sort());
  });

  test.each(ID_OPERATIONS.map((o) => [o.field, o] as const))('%s: every operator object is BAD_USER_INPUT, nothing runs', async (_field, op) => {
    for (const v of OPERATORS) {
      const res = await stack.gql(op.query, op.vars(v), { principal: op.as });
      expect({ v, status: res.status, codes: codes(res), data: res.data }).toEqual({ v, status: 400, codes: ['BAD_USER_INPUT'], data: undefined });
      expect(res.errors![0].message).toMatch(/^Variable "\$[vi]" got invalid value/);
    }
  });

  test.each(STRING_OPERATIONS.map((o) => [o.field, o] as const))('%s: every operator object is BAD_USER_INPUT', async (_field, op) => {
    for (const v of OPERATORS) {
      const res = await stack.gql(op.query, op.vars(v), { principal: op.as });
      expect({ v, status: res.status, codes: codes(res) }).toEqual({ v, status: 400, codes: ['BAD_USER_INPUT'] });
    }
  });
});

describe('strings that look like operators are plain values', () => {
  const lookalikes = ['{"$ne":null}', '$ne', '{ "$gt": "" }', '.*', '[object Object]'];

  test('an id that looks like an operator finds nothing (null, NOT_FOUND or INVALID_INPUT), never another record', async () => {
    for (const v of lookalikes) {
      for (const op of ID_OPERATIONS) {
        const res = await stack.gql(op.query, op.vars(v), { principal: op.as });
        const data = res.data ? Object.values(res.data)[0] : null;
        expect({ field: op.field, v, data }).toEqual({ field: op.field, v, data: null });
        for (const c of codes(res)) expect(['NOT_FOUND', 'BAD_USER_INPUT', 'FORBIDDEN']).toContain(c);
      }
    }
  });

  test('filters with operator-looking strings match no shipment', async () => {
    for (const v of lookalikes) {
      const res = await stack.gql('query ($f: ShipmentFilter) { shipments(filter: $f) { totalCount } }', { f: { trackingNumber: v, carrier: v } });
      expect(res.errors).toBeUndefined();
      expect(res.data!.shipments.totalCount).toBe(0);
    }
  });

  test('control: the same operations find the real record by its real id', async () => {
    const res = await stack.gql('query ($v: ID!) { shipment(id: $v) { id } }', { v: shipmentA.id });
    expect(res.data!.shipment).toEqual({ id: shipmentA.id });
  });
});

describe('_entities representations with operator objects, straight to each subgraph', () => {
  async function entities(subgraph: SubgraphName, representations: unknown[], selection: string) {
    const token = await stack.platform.auth.internalSigner.tokenFor(admin, subgraph);
    return postGraphQL<{ _entities: unknown[] }>(stack.platform.subgraphUrls[subgraph], `query ($r: [_Any!]!) { _entities(representations: $r) { __typename ${selection} } }`, { r: representations }, { authorization: `Bearer ${token}` });
  }

  const op = { $ne: null };
  const CASES: Array<{ subgraph: SubgraphName; typename: string; bad: Array<Record<string, unknown>>; good: Record<string, unknown>; selection: string }> = [
    { subgraph: 'shipment', typename: 'Shipment', selection: '... on Shipment { id trackingNumber }', bad: [{ id: op }, { id: { $gt: '' } }], good: { id: shipmentA.id } },
    { subgraph: 'device', typename: 'Device', selection: '... on Device { id model }', bad: [{ id: op }, { id: { $in: [plan.devices[0].id] } }], good: { id: plan.devices.find((d) => d.tenantId === tenantA.id)!.id } },
    { subgraph: 'device', typename: 'Shipment', selection: '... on Shipment { id devices { id } }', bad: [{ id: op }], good: { id: shipmentA.id } },
    { subgraph: 'identity', typename: 'Tenant', selection: '... on Tenant { id name }', bad: [{ id: op }], good: { id: tenantA.id } },
    { subgraph: 'identity', typename: 'User', selection: '... on User { id tenantId }', bad: [{ id: op }], good: { id: admin.id } },
    { subgraph: 'identity', typename: 'Shipment', selection: '... on Shipment { id tenant { id name } }', bad: [{ id: op, tenantId: tenantA.id }, { id: shipmentA.id, tenantId: op }], good: { id: shipmentA.id, tenantId: tenantA.id } },
    { subgraph: 'privacy', typename: 'User', selection: '... on User { id }', bad: [{ id: op }], good: { id: admin.id } },
    {
      subgraph: 'privacy',
      typename: 'Shipment',
      selection: '... on Shipment { id recipientPrivacy { subjectId } }',
      bad: [{ id: op, recipientSubjectId: shipmentA.recipientSubjectId }, { id: shipmentA.id, recipientSubjectId: op }],
      good: { id: shipmentA.id, recipientSubjectId: shipmentA.recipientSubjectId },
    },
  ];

  test.each(CASES.map((c) => [`${c.subgraph}: ${c.typename}`, c] as const))('%s: refused or null, never data; the valid representation beside it resolves', async (_name, c) => {
    const res = await entities(c.subgraph, [...c.bad.map((r) => ({ __typename: c.typename, ...r })), { __typename: c.typename, ...c.good }], c.selection);
    const items = res.data!._entities;
    expect(items.slice(0, c.bad.length)).toEqual(c.bad.map(() => null));
    expect(items[c.bad.length]).toMatchObject({ __typename: c.typename });
    for (const e of res.errors ?? []) {
      expect(e.extensions?.code).toBe('BAD_USER_INPUT');
      expect(e.extensions?.reason).toBe('INVALID_REPRESENTATION');
    }
  });
});

describe('mongoose, the last line (lib/db.ts)', () => {
  test('sanitizeFilter and strictQuery are on', () => {
    expect(mongoose.get('sanitizeFilter')).toBe(true);
    expect(mongoose.get('strictQuery')).toBe(true);
  });

  test('sanitizeFilter wraps an operator object that reached a filter in $eq: it can only match itself', () => {
    expect(mongoose.sanitizeFilter({ _id: { $ne: null }, tenantId: 't1' } as never)).toEqual({ _id: { $eq: { $ne: null } }, tenantId: 't1' });
  });
});
