/**
 * single: one shipment by id with the same fields as a list50 item (all
 * four subgraphs): the per-request floor of each gateway.
 */
import { defineScenario } from '../runner/scenario';

export default defineScenario({
  name: 'single',
  description: 'one shipment by id with the fields of a list50 item (events(first: 3), devices, latestReading, tenant), across all four subgraphs',
  caller: { tenant: 0, role: 'TENANT_ADMIN' },
  operations: (plan) => [
    {
      name: 'Shipment',
      query: `query Shipment($id: ID!) {
  shipment(id: $id) {
    id trackingNumber carrier status
    tenant { name }
    events(first: 3) { edges { node { status occurredAt } } }
    devices { kind }
    latestReading { value unit }
  }
}`,
      variables: { id: plan.shipments.find((s) => s.tenantId === plan.tenants[0].id)!.id },
    },
  ],
  check: (_op, body) => {
    if (body.errors?.length) return `errors: ${JSON.stringify(body.errors).slice(0, 300)}`;
    return (body.data as { shipment?: unknown } | undefined)?.shipment ? undefined : 'no shipment';
  },
});
