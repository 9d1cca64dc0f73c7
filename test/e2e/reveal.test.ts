/**
 * Masked by default and the audited reveal end to end, through the gateway:
 * a seeded shipment reads masked, `revealShipment` shows its personal data
 * for a reason and leaves a `pii.revealed` record in the audit store, and
 * the SENSITIVE reveal needs a real just-in-time elevation — requested,
 * approved by a SECURITY_ADMIN, merged into the principal by the gateway
 * and carried to the shipment subgraph in the internal token, which names
 * it in the audit record.
 */
import { auditEvents } from '../kit/credentials';
import { codes, plan, startStack, tenantA, tenantB, userOf, type Stack } from '../kit/stack';

let stack: Stack;
let shipmentId: string;

beforeAll(async () => {
  stack = await startStack();
  // A seeded shipment of tenant A with a proof of delivery.
  const list = await stack.gql<{ shipments: { edges: Array<{ node: { id: string; proofOfDelivery: { outcome: string } | null } }> } }>(
    `{ shipments(first: 50, filter: { status: [DELIVERED] }) { edges { node { id proofOfDelivery { outcome } } } } }`,
  );
  shipmentId = list.data!.shipments.edges.find((e) => e.node.proofOfDelivery?.outcome === 'SUCCEEDED')!.node.id;
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

const READ = `query($id: ID!) { shipment(id: $id) { recipient { name phone email } deliveryNotes destination { line1 city } proofOfDelivery { signerName signatureRef photoRefs } } }`;
const REVEAL = `mutation($id: ID!, $reason: String!, $sensitive: Boolean) {
  revealShipment(id: $id, reason: $reason, sensitive: $sensitive) {
    fields sensitive revealedAt expiresAt
    shipment { id tenant { name } recipient { name phone email } destination { line1 city } proofOfDelivery { signerName signatureRef photoRefs } }
  }
}`;

test('a seeded shipment reads masked through the gateway', async () => {
  const res = await stack.gql<{ shipment: any }>(READ, { id: shipmentId }, { principal: userOf(tenantA.id, 'SUPPORT_AGENT') });
  expect(res.errors).toBeUndefined();
  expect(res.data!.shipment.recipient).toEqual({ name: expect.stringMatching(/^D\*\*\* R\*\*\* \d\*\*\*$/), phone: expect.stringMatching(/^•••• ••• \d{3}$/), email: 'r***@example.com' });
  expect(res.data!.shipment.destination.line1).toBe('•••');
  expect(res.data!.shipment.proofOfDelivery).toMatchObject({ signerName: expect.stringMatching(/^D\*\*\* S\*\*\*/), signatureRef: null });
});

test('revealShipment shows the PII for a reason and records it in the audit store', async () => {
  const agent = userOf(tenantA.id, 'SUPPORT_AGENT');
  const res = await stack.gql<{ revealShipment: any }>(REVEAL, { id: shipmentId, reason: 'SUP-1001: recipient asks about the delivery' }, { principal: agent });
  expect(res.errors).toBeUndefined();
  const { shipment } = res.data!.revealShipment;
  expect(shipment.recipient.name).toMatch(/^Demo Recipient \d+$/);
  expect(shipment.recipient.email).toMatch(/^recipient\d+@example\.com$/);
  expect(shipment.destination.line1).toMatch(/Example Street$/);
  expect(shipment.tenant.name).toBe(tenantA.name);
  expect(shipment.proofOfDelivery.signatureRef).toBeNull();
  const record = (await auditEvents(stack, 'pii.revealed')).at(-1)!;
  expect(record).toMatchObject({
    type: 'pii.revealed',
    actor: `user:${agent.id}`,
    tenantId: tenantA.id,
    target: `Shipment:${shipmentId}`,
    details: { classes: ['PII'], reason: 'SUP-1001: recipient asks about the delivery', elevationId: null, fields: expect.arrayContaining(['Contact.name', 'Address.line1']) },
  });
});

test('another tenant’s shipment is NOT_FOUND, and a role without the capability is refused at the gateway', async () => {
  expect(codes(await stack.gql(REVEAL, { id: shipmentId, reason: 'curious' }, { principal: userOf(tenantB.id, 'TENANT_ADMIN') }))).toEqual(['NOT_FOUND']);
  expect(codes(await stack.gql(REVEAL, { id: shipmentId, reason: 'curious' }, { principal: userOf(tenantA.id, 'AUDITOR') }))).toEqual(['FORBIDDEN']);
});

test('the SENSITIVE reveal needs an approved just-in-time elevation, which the audit record names', async () => {
  const agent = userOf(tenantA.id, 'SUPPORT_AGENT');
  const approver = userOf(tenantA.id, 'SECURITY_ADMIN');
  const before = await stack.gql(REVEAL, { id: shipmentId, reason: 'DISPUTE-77: proof of delivery', sensitive: true }, { principal: agent });
  expect(codes(before)).toEqual(['ELEVATION_REQUIRED']);

  const requested = await stack.gql<{ requestElevation: { id: string } }>(
    `mutation($input: RequestElevationInput!) { requestElevation(input: $input) { id } }`,
    { input: { role: 'SUPPORT_AGENT', reason: 'dispute about a delivery', ticket: 'DISPUTE-77', durationMinutes: 15 } },
    { principal: agent },
  );
  expect(requested.errors).toBeUndefined();
  const elevationId = requested.data!.requestElevation.id;
  const approved = await stack.gql(`mutation($id: ID!) { approveElevation(id: $id) { status } }`, { id: elevationId }, { principal: approver });
  expect(approved.errors).toBeUndefined();

  const res = await stack.gql<{ revealShipment: any }>(REVEAL, { id: shipmentId, reason: 'DISPUTE-77: proof of delivery', sensitive: true }, { principal: agent });
  expect(res.errors).toBeUndefined();
  expect(res.data!.revealShipment.sensitive).toBe(true);
  expect(res.data!.revealShipment.shipment.proofOfDelivery.signatureRef).toEqual(expect.any(String));
  const record = (await auditEvents(stack, 'pii.revealed')).at(-1)!;
  expect(record).toMatchObject({ actor: `user:${agent.id}`, details: { classes: ['PII', 'SENSITIVE'], elevationId, reason: 'DISPUTE-77: proof of delivery' } });
  expect(plan.users.some((u) => u.id === agent.id)).toBe(true);
});
