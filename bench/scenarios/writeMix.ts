/**
 * writeMix: each connection alternates a recordTrackingEvent mutation
 * (a fresh clientEventId every time, so every one is a real write: the
 * idempotency claim, the event, the shipment's status, the audit record)
 * with a read of the same shipment's latest events. The caller is a
 * Northwind dispatcher; writes spread over Northwind's 60 shipments.
 */
import { defineScenario } from '../runner/scenario';

export default defineScenario({
  name: 'writeMix',
  description: 'recordTrackingEvent (unique clientEventId) interleaved 1:1 with a read of that shipment, across Northwind shipments',
  caller: { tenant: 0, role: 'DISPATCHER' },
  operations: (plan) => {
    const ids = plan.shipments.filter((s) => s.tenantId === plan.tenants[0].id).map((s) => s.id);
    // Each connection starts at its own shipment, so concurrent writes rarely hit the same document.
    const pick = (n: number, connection: number) => ids[(connection * 7 + n) % ids.length];
    return [
      {
        name: 'RecordTrackingEvent',
        query: `mutation Record($input: RecordTrackingEventInput!) {
  recordTrackingEvent(input: $input) { id status occurredAt }
}`,
        variables: (n, connection) => ({
          input: {
            shipmentId: pick(n, connection),
            clientEventId: `bench-${process.pid}-${connection}-${n}-${Date.now().toString(36)}`,
            occurredAt: new Date().toISOString(),
            status: 'IN_TRANSIT',
            message: 'Bench scan',
            location: { city: 'Rotterdam', countryIso3: 'NLD' },
          },
        }),
      },
      {
        name: 'ShipmentAfterWrite',
        query: `query After($id: ID!) {
  shipment(id: $id) { id status statusDetail events(first: 3) { edges { node { id status occurredAt } } } }
}`,
        variables: (n, connection) => ({ id: pick(n, connection) }),
      },
    ];
  },
  check: (_op, body) => (body.errors?.length ? `errors: ${JSON.stringify(body.errors).slice(0, 300)}` : body.data ? undefined : 'no data'),
});
