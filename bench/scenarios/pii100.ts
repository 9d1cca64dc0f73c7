/**
 * pii100: the encryption benchmark — one page of 100 shipments with every
 * personal field a support screen shows (recipient name, email and phone;
 * origin and destination address lines and postal codes; delivery notes),
 * through the secured gateway, read from the encrypted database
 * (tracksafe-secured: every value decrypted, then masked) and from the
 * plaintext copy with field encryption off (tracksafe-plaintext: the same
 * gateway, subgraphs, rules and masking). Their ratio is what field
 * encryption costs a caller; the goal is at most 1.15 × the latency.
 *
 * One connection by default: a closed loop of single requests measures
 * latency, and leaves the gateway's per-principal sharing of identical
 * in-flight queries (INFLIGHT_DEDUP) nothing to share, so every request is
 * decrypted in full.
 */
import { defineScenario } from '../runner/scenario';

export default defineScenario({
  name: 'pii100',
  description: '100 shipments with recipient contact, address lines and delivery notes (every value decrypted, then masked), encrypted database against its plaintext copy, one connection',
  caller: { tenant: 0, role: 'SUPPORT_AGENT' },
  targets: ['tracksafe-secured', 'tracksafe-plaintext'],
  defaults: { rounds: 6, duration: 5, connections: 1, warmup: 3 },
  operations: () => [
    {
      name: 'Pii100',
      query: `query Pii100($first: Int!) {
  shipments(first: $first, filter: { region: EU }) {
    edges {
      node {
        id trackingNumber status
        recipient { name email phone }
        origin { line1 line2 city postalCode countryIso3 }
        destination { line1 line2 city postalCode countryIso3 }
        deliveryNotes
      }
    }
  }
}`,
      variables: { first: 100 },
    },
  ],
  check: (_op, body) => {
    if (body.errors?.length) return `errors: ${JSON.stringify(body.errors).slice(0, 300)}`;
    type Node = { recipient?: { name?: string | null; email?: string | null } | null };
    const edges = (body.data as { shipments?: { edges?: Array<{ node: Node }> } } | undefined)?.shipments?.edges;
    if (edges?.length !== 100) return `expected 100 shipments, got ${edges?.length}`;
    // Every value decrypted: an unreadable one would be null.
    const missing = edges.filter((e) => !e.node.recipient?.name || !e.node.recipient?.email).length;
    return missing ? `${missing} shipments without recipient name or email` : undefined;
  },
});
