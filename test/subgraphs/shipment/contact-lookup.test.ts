/**
 * `shipmentsByRecipientContact`: support finds a tenant's shipments by the
 * recipient's email or phone through blind indexes over the encrypted
 * values, confirmed by decryption; results stay masked; the lookup is
 * audited without the value; other tenants' shipments never match.
 */
import { adminA, codes, CREATE, shipmentInput, startKit, tenantA, tenantB, uniqueTrackingNumber, userOf, type Kit } from './kit';

const LOOKUP = /* GraphQL */ `
  query ($email: String, $phone: String) {
    shipmentsByRecipientContact(email: $email, phone: $phone) { id tenantId recipient { name email phone } }
  }
`;

let kit: Kit;
const ids: Record<string, string> = {};
const supportA = userOf(tenantA.id, 'SUPPORT_AGENT');

async function create(key: string, recipient: Record<string, string>, principal = adminA) {
  const res = await kit.gql(CREATE, { input: shipmentInput({ trackingNumber: uniqueTrackingNumber(), recipient }) }, principal);
  expect(res.errors).toBeUndefined();
  ids[key] = res.data.createShipment.id;
}

beforeAll(async () => {
  kit = await startKit();
  await create('first', { name: 'Rosalind Okonkwo-Baptiste', email: 'Rosalind.OB@example.net', phone: '+447700900123' });
  await create('second', { name: 'Rosalind Okonkwo-Baptiste', email: 'rosalind.ob@EXAMPLE.net', phone: '+447700900123' });
  await create('other', { name: 'Someone Else', email: 'someone.else@example.net', phone: '+15550100777' });
  // Tenant B has a recipient with the same email: it must never appear for tenant A.
  await create('tenantB', { name: 'Rosalind Okonkwo-Baptiste', email: 'rosalind.ob@example.net', phone: '+447700900123' }, userOf(tenantB.id, 'TENANT_ADMIN', ['DISPATCHER']));
});
afterAll(() => kit.stop());

describe('shipmentsByRecipientContact', () => {
  test('finds every shipment of the email in the caller’s tenant, whatever its case and spacing, newest first, masked', async () => {
    const res = await kit.gql(LOOKUP, { email: '  ROSALIND.ob@example.NET ' }, supportA);
    expect(res.errors).toBeUndefined();
    const found = res.data.shipmentsByRecipientContact as Array<{ id: string; tenantId: string; recipient: { name: string; email: string } }>;
    expect(found.map((s) => s.id)).toEqual([ids.second, ids.first]);
    expect(found.every((s) => s.tenantId === tenantA.id)).toBe(true);
    // Read like any other shipment: masked for a support agent.
    expect(found[0].recipient.email).not.toContain('rosalind.ob@');
    expect(found[0].recipient.name).not.toBe('Rosalind Okonkwo-Baptiste');
  });

  test('finds by phone compared by its digits (an international 00 prefix equals +)', async () => {
    const res = await kit.gql(LOOKUP, { phone: '0044 (7700) 900-123' }, supportA);
    expect(res.errors).toBeUndefined();
    expect(res.data.shipmentsByRecipientContact.map((s: { id: string }) => s.id).sort()).toEqual([ids.first, ids.second].sort());
  });

  test('an unknown contact finds nothing', async () => {
    const res = await kit.gql(LOOKUP, { email: 'nobody@example.net' }, supportA);
    expect(res.data.shipmentsByRecipientContact).toEqual([]);
  });

  test('is audited with the kind of value and the count, never the value', async () => {
    kit.audit.events.length = 0;
    await kit.gql(LOOKUP, { email: 'someone.else@example.net' }, supportA);
    const events = kit.audit.events.filter((e) => e.type === 'shipment.contact_lookup');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: `user:${(supportA as { id: string }).id}`, tenantId: tenantA.id, details: { by: 'email', matches: 1 } });
    expect(JSON.stringify(events)).not.toContain('someone.else');
  });

  test.each([
    ['both email and phone', { email: 'a@example.net', phone: '+1 555' }],
    ['neither', {}],
    ['a phone without digits', { phone: '+-()' }],
  ])('refuses %s with BAD_USER_INPUT', async (_what, vars) => {
    expect(codes(await kit.gql(LOOKUP, vars, supportA))).toEqual(['BAD_USER_INPUT']);
  });

  test('an oversized email is refused before any lookup', async () => {
    expect(codes(await kit.gql(LOOKUP, { email: `${'a'.repeat(250)}@example.net` }, supportA))).toEqual(['BAD_USER_INPUT']);
  });

  test.each(['DRIVER', 'DISPATCHER', 'AUDITOR'])('%s may not look recipients up: FORBIDDEN', async (role) => {
    expect(codes(await kit.gql(LOOKUP, { email: 'rosalind.ob@example.net' }, userOf(tenantA.id, role)))).toEqual(['FORBIDDEN']);
  });
});
