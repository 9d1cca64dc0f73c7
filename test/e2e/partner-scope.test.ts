/**
 * A partner's API client reads the shipments of the tenants it is contracted
 * with (its token's partnerOf) and of the tenant that issued it — and no
 * other.
 */
import { scopesForRoles } from '../../lib/auth/scopes';
import type { TenantPrincipal } from '../../lib/context';
import { plan, startStack, tenantA, tenantB, type Stack } from '../kit/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

const client = plan.apiClient;

function partner(partnerOf: string[]): TenantPrincipal {
  return { kind: 'user', subjectType: 'client', id: client.id, tenantId: client.tenantId, roles: ['PARTNER'], scopes: ['shipments:read'], partnerOf };
}

const TENANTS_SEEN = `{ shipments(first: 100) { edges { node { tenantId } } } }`;

test("a contracted partner sees its issuer's and its contracted tenant's shipments", async () => {
  const res = await stack.gql<{ shipments: { edges: Array<{ node: { tenantId: string } }> } }>(TENANTS_SEEN, undefined, { principal: partner([tenantB.id]) });
  expect(res.errors).toBeUndefined();
  const seen = new Set(res.data!.shipments.edges.map((e) => e.node.tenantId));
  expect(seen).toEqual(new Set([client.tenantId, tenantB.id]));
});

test('without a contract the partner sees only the issuing tenant', async () => {
  const res = await stack.gql<{ shipments: { edges: Array<{ node: { tenantId: string } }> } }>(TENANTS_SEEN, undefined, { principal: partner([]) });
  expect(res.errors).toBeUndefined();
  expect(new Set(res.data!.shipments.edges.map((e) => e.node.tenantId))).toEqual(new Set([tenantA.id]));
  expect(client.tenantId).toBe(tenantA.id);
  expect(scopesForRoles(['PARTNER'])).toContain('shipments:read');
});
