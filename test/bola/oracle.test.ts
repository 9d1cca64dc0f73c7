/**
 * The BOLA oracle (oracle.ts) on hand-made responses: it must flag what a
 * leak looks like and accept what a correct answer looks like, or the
 * property test proves nothing.
 */
import type { Principal } from '../../lib/context';
import { encodeCursorValue } from './operations';
import { type CaseToCheck, type Ownership, checkCase, checkErrors, echoesOf, visibleTenants } from './oracle';

const A = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbbbbbbbbbb';
const shipA = 'a00000000000000000000001';
const shipB = 'b00000000000000000000001';
const subjectB = 'b00000000000000000000009';
const userA = 'a00000000000000000000007';

const own: Ownership = {
  tenants: new Set([A, B]),
  owners: new Map([
    [A, A],
    [B, B],
    [shipA, A],
    [shipB, B],
    [subjectB, B],
    [userA, A],
    ['Northwind Brands', A],
    ['Pacific Freight', B],
    ['carol@pacific.example', B],
  ]),
  phrases: [
    ['Northwind Brands', A],
    ['Pacific Freight', B],
  ],
  counts: new Map([['shipments', new Map([[A, 25], [B, 20]])]]),
};

/** Paths of the findings, each once. */
const check = (value: unknown, opts: Partial<CaseToCheck> = {}) => [
  ...new Set(checkCase(own, { at: 'c0', value, visible: new Set([A]), echoes: new Set<string>(), ...opts }).map((f) => f.path)),
];

describe('records', () => {
  test("the caller's own record passes", () => {
    expect(check({ __typename: 'Shipment', id: shipA, tenantId: A, carrier: 'DHL', tenant: { __typename: 'Tenant', id: A, name: 'Northwind Brands' } })).toEqual([]);
  });

  test("another tenant's record is flagged by tenantId, by id, and by any fingerprint deep inside", () => {
    expect(check({ __typename: 'Device', id: 'unknown-id', tenantId: B })).toEqual(['c0.tenantId']);
    expect(check({ __typename: 'Shipment', id: shipB, carrier: 'DHL' })).toEqual(['c0.id']);
    expect(check({ __typename: 'User', id: userA, tenantId: A, email: 'carol@pacific.example' })).toEqual(['c0.email']);
    expect(check({ __typename: 'Tenant', id: B, name: 'Pacific Freight' })).toEqual(['c0.id', 'c0.name']);
  });

  test('an object naming a tenant that does not exist is flagged unless the request sent it', () => {
    expect(check({ __typename: 'Device', id: 'x', tenantId: 'tenant-nobody-has' })).toEqual(['c0.tenantId']);
    expect(check({ __typename: 'Shipment', id: 'x', tenantId: 'tenant-nobody-has', tenant: null }, { echoes: new Set(['x', 'tenant-nobody-has']) })).toEqual([]);
  });

  test('anonymous callers may see no tenant at all', () => {
    expect(checkCase(own, { at: 'c0', value: { id: shipA, tenantId: A }, visible: new Set(), echoes: new Set() })).toHaveLength(2);
  });

  test('a cursor positioned at a foreign record is flagged', () => {
    expect(check({ edges: [], pageInfo: { endCursor: encodeCursorValue([1, shipB]) } })).toEqual(['c0.pageInfo.endCursor']);
  });
});

describe('echoes of what the request sent', () => {
  test('a stub under a foreign id that carries nothing else passes', () => {
    const stub = { __typename: 'Shipment', id: shipB, devices: [], readings: { totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, edges: [] }, latestReading: null };
    expect(check(stub, { echoes: new Set([shipB]) })).toEqual([]);
  });

  test('anything under a foreign id beyond the echo is a leak: a count, a record, a name', () => {
    expect(check({ __typename: 'Shipment', id: shipB, readings: { totalCount: 3, edges: [] } }, { echoes: new Set([shipB]) })).toEqual(['c0.readings.totalCount']);
    expect(check({ __typename: 'Shipment', id: shipB, carrier: 'DHL' }, { echoes: new Set([shipB]) })).toEqual(['c0.carrier']);
    // identity asked for the tenant named by a forged tenantId of the other tenant
    expect(check({ __typename: 'Shipment', id: shipA, tenantId: B, tenant: { __typename: 'Tenant', id: B, name: 'Pacific Freight' } }, { echoes: new Set([shipA, B]) })).toEqual([
      'c0.tenant.name',
    ]);
  });

  test("a foreign stub may hold the caller's own records (a forged own tenantId)", () => {
    expect(check({ __typename: 'Shipment', id: shipB, tenantId: A, tenant: { __typename: 'Tenant', id: A, name: 'Northwind Brands' } }, { echoes: new Set([shipB, A]) })).toEqual([]);
  });

  test("privacy settings of another tenant's subject: the defaults pass, stored choices leak", () => {
    const defaults = { __typename: 'PrivacySettings', subjectId: subjectB, notificationChannels: [], dataSharing: { __typename: 'DataSharingToggles', analytics: false, marketing: false, partners: false }, updatedAt: null };
    expect(check(defaults, { echoes: new Set([subjectB]) })).toEqual([]);
    expect(check({ ...defaults, notificationChannels: ['EMAIL'], updatedAt: '2025-01-01T00:00:00.000Z' }, { echoes: new Set([subjectB]) })).toEqual(['c0.notificationChannels[0]', 'c0.updatedAt']);
  });

  test('echoes are every string sent, cursor contents included', () => {
    expect([...echoesOf({ id: shipB, after: encodeCursorValue([5, subjectB]), filter: { region: 'EU' } })]).toEqual(
      expect.arrayContaining([shipB, subjectB, 'EU']),
    );
  });
});

describe('counts', () => {
  const count = { collection: 'shipments', exact: true };
  test("totalCount may not exceed what the caller's tenants hold, and unfiltered must be one of their exact totals", () => {
    expect(check({ totalCount: 25, edges: [] }, { count })).toEqual([]);
    expect(check({ totalCount: 45, edges: [] }, { count })).toEqual(['c0.totalCount']);
    expect(check({ totalCount: 13, edges: [] }, { count })).toEqual(['c0.totalCount']);
    expect(check({ totalCount: 13, edges: [] }, { count: { ...count, exact: false } })).toEqual([]);
    expect(check({ totalCount: 45, edges: [] }, { count, visible: new Set([A, B]) })).toEqual([]);
    expect(check({ totalCount: 1, edges: [] }, { count, visible: new Set() })).toEqual(['c0.totalCount']);
  });
});

test('the public view may hold no record fingerprint at all, even of the caller', () => {
  expect(check({ carrier: 'DHL', status: 'IN_TRANSIT', events: [{ message: 'Arrived' }] }, { publicView: true })).toEqual([]);
  expect(check({ carrier: 'DHL', events: [{ message: shipA }] }, { publicView: true })).toEqual(['c0.events[0].message']);
});

test('errors naming a foreign record are flagged, unless the request named it', () => {
  const visible = new Set([A]);
  expect(checkErrors(own, [{ message: `shipment ${shipB} belongs to Pacific Freight` }], visible, new Set())).toHaveLength(2);
  expect(checkErrors(own, [{ message: `no shipment ${shipB}` }], visible, new Set([shipB]))).toEqual([]);
  expect(checkErrors(own, [{ message: 'Forbidden', extensions: { code: 'FORBIDDEN' } }], visible, new Set())).toEqual([]);
});

test('who sees which tenants', () => {
  const base = { kind: 'user' as const, id: 'p', tenantId: A, scopes: [] };
  expect([...visibleTenants({ kind: 'anonymous' })]).toEqual([]);
  expect([...visibleTenants({ ...base, roles: ['TENANT_ADMIN'], partnerOf: [B] })]).toEqual([A]);
  expect([...visibleTenants({ ...base, roles: ['PARTNER'], partnerOf: [B] })].sort()).toEqual([A, B]);
  expect(() => visibleTenants({ kind: 'system', id: 'seed' } as Principal)).toThrow();
});
