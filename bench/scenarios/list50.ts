/**
 * list50: one page of 50 shipments across all four subgraphs — events
 * (first 3) from shipment, devices and the latest reading from device, the
 * tenant from identity (@requires) — about 20 kB of JSON.
 *
 * Data: 60 demo shipments per tenant are seeded. The caller is Northwind's
 * tenant admin (EU); `filter: { region: EU }` makes the targets whose
 * subgraphs answer as a system principal return the very same 50
 * shipments the secured target returns for that tenant.
 */
import { defineScenario } from '../runner/scenario';

export default defineScenario({
  name: 'list50',
  description: '50 shipments with events(first: 3), devices, latestReading and tenant (≈ 20 kB), across all four subgraphs',
  caller: { tenant: 0, role: 'TENANT_ADMIN' },
  operations: () => [
    {
      name: 'List50',
      query: `query List50($first: Int!) {
  shipments(first: $first, filter: { region: EU }) {
    totalCount
    edges {
      node {
        id trackingNumber carrier status
        tenant { name }
        events(first: 3) { edges { node { status occurredAt } } }
        devices { kind }
        latestReading { value unit }
      }
    }
  }
}`,
      variables: { first: 50 },
    },
  ],
  check: (_op, body) => {
    const edges = (body.data as { shipments?: { edges?: unknown[] } } | undefined)?.shipments?.edges;
    if (body.errors?.length) return `errors: ${JSON.stringify(body.errors).slice(0, 300)}`;
    return edges?.length === 50 ? undefined : `expected 50 shipments, got ${edges?.length}`;
  },
});
