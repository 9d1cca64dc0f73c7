/**
 * Test kit of the shipment subgraph: the shared subgraph kit (test/kit/
 * subgraph.ts) with a controllable clock, `gql` posting as tenant A's admin
 * unless told otherwise, and shipment fixtures (inputs, operations,
 * helpers that create shipments and record events).
 */
import { randomBytes } from 'node:crypto';
import type { Principal } from '../../../lib/context';
import { demoPlan } from '../../../lib/demo';
import { anonymous, asUser, codes, demoUser, reasons, startSubgraph, systemPrincipal, type GraphQLResponse, type SubgraphKit } from '../../kit/subgraph';
import { buildShipmentSubgraph } from '../../../subgraphs/shipment/server';

export { anonymous, codes, reasons };

export const plan = demoPlan();
export const [tenantA, tenantB] = plan.tenants;

/** The demo user of `tenantId` holding `role`, with `extraRoles` too, the scopes those roles imply and a fresh MFA login. */
export function userOf(tenantId: string, role = 'TENANT_ADMIN', extraRoles: string[] = []): Principal {
  const u = demoUser(plan, tenantId, role);
  return asUser(u, [...u.roles, ...extraRoles]);
}

// Admins who also dispatch: recordTrackingEvent admits DISPATCHER but not TENANT_ADMIN (schema/shipment.graphql).
export const adminA = userOf(tenantA.id, 'TENANT_ADMIN', ['DISPATCHER']);
export const adminB = userOf(tenantB.id, 'TENANT_ADMIN', ['DISPATCHER']);
export const system = systemPrincipal('test');

/**
 * `principal` with an active just-in-time elevation to `role`, as the
 * gateway merges it (gateway/principal-status.ts): the role added, and the
 * elevation named in `elevations`. test/e2e/reveal.test.ts goes through the
 * real elevation lifecycle.
 */
export function withElevation(principal: Principal, role: string, elevationId = 'elevation-test-1'): Principal {
  if (principal.kind !== 'user') throw new Error('only people are elevated');
  return { ...principal, roles: [...new Set([...principal.roles, role])], elevations: [...(principal.elevations ?? []), { id: elevationId, role }] };
}

/** Tenant A's admin, elevated to TENANT_ADMIN (the SENSITIVE reveal needs the capable role through an active elevation). */
export const elevatedAdminA = withElevation(adminA, 'TENANT_ADMIN');

export type GraphQLResult<T = any> = GraphQLResponse<T>;

export interface Kit extends SubgraphKit {
  /** The services' clock: `clock.offsetMs` shifts it from real time. */
  clock: { offsetMs: number; now(): Date };
}

export async function startKit(): Promise<Kit> {
  const clock = {
    offsetMs: 0,
    now() {
      return new Date(Date.now() + this.offsetMs);
    },
  };
  const kit = await startSubgraph('shipment', { principal: adminA, build: (deps) => buildShipmentSubgraph({ ...deps, now: () => clock.now() }) });
  return { ...kit, clock };
}

let serial = 0;
/** A tracking number no other test uses. */
export function uniqueTrackingNumber(prefix = 'T'): string {
  serial += 1;
  return `${prefix}${Date.now().toString(36).toUpperCase()}${randomBytes(3).toString('hex').toUpperCase()}${serial}`;
}

/** A valid `CreateShipmentInput`; override any field. */
export function shipmentInput(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    carrier: 'DHL',
    trackingNumber: uniqueTrackingNumber(),
    serviceLevel: 'express',
    eta: '2030-01-10T12:00:00Z',
    origin: { line1: '1 Test Warehouse Way', city: 'Amsterdam', postalCode: '1011', countryIso3: 'NLD' },
    destination: { line1: '2 Example Street', city: 'Berlin', postalCode: '10115', countryIso3: 'deu' },
    recipient: { name: 'Test Recipient', phone: '+15550100999', email: 'Test.Recipient@Example.com' },
    deliveryNotes: 'Door code 0000 (test)',
    customs: null,
    parcels: [{ barcode: '376123450000000017', weightGrams: 1200, temperatureProfile: { min: 2, max: 8, unit: 'CEL' } }],
    ...overrides,
  };
}

export const CREATE = /* GraphQL */ `
  mutation Create($input: CreateShipmentInput!) {
    createShipment(input: $input) {
      id tenantId region carrier trackingNumber serviceLevel status statusDetail eta originalEta isReturn
      recipientSubjectId publicTrackingToken createdAt updatedAt
      destination { line1 city postalCode countryIso3 }
      recipient { name phone email }
      deliveryNotes
      parcels { barcode weightGrams temperatureProfile { min max unit } }
    }
  }
`;

export const RECORD = /* GraphQL */ `
  mutation Record($input: RecordTrackingEventInput!) {
    recordTrackingEvent(input: $input) {
      id shipmentId occurredAt recordedAt status rawCarrierCode message source clientEventId
      subStatus { code text actionRequired }
      location { city countryIso3 }
    }
  }
`;

export const REVEAL = /* GraphQL */ `
  mutation Reveal($id: ID!, $reason: String!, $sensitive: Boolean) {
    revealShipment(id: $id, reason: $reason, sensitive: $sensitive) {
      fields sensitive revealedAt expiresAt
      shipment {
        id deliveryNotes
        origin { line1 line2 city postalCode countryIso3 }
        destination { line1 line2 city postalCode countryIso3 }
        recipient { name phone email }
        proofOfDelivery { outcome signerName signatureRef photoRefs geo { latitude longitude } }
        events(first: 5) { edges { node { id coordinates { latitude longitude } location { city postalCode } } } }
      }
    }
  }
`;

/**
 * The shipment's personal data through the audited reveal (reads elsewhere
 * are masked), as `principal` (default tenant A's admin); throws on errors.
 */
export async function revealed(kit: SubgraphKit, id: string, principal: Principal = adminA, sensitive = false): Promise<any> {
  const res = await kit.gql(REVEAL, { id, reason: 'TEST-1: checking what was stored', sensitive }, principal);
  if (res.errors) throw new Error(`revealShipment failed: ${JSON.stringify(res.errors)}`);
  return res.data.revealShipment.shipment;
}

/** Creates a shipment as `principal` and returns it (with its token). */
export async function createShipment(kit: Kit, overrides: Record<string, unknown> = {}, principal: Principal = adminA): Promise<any> {
  const res = await kit.gql(CREATE, { input: shipmentInput(overrides) }, principal);
  if (res.errors) throw new Error(`createShipment failed: ${JSON.stringify(res.errors)}`);
  return res.data.createShipment;
}

let eventSerial = 0;
/** Records an event; `at` is minutes relative to now (negative = in the past). */
export async function recordEvent(kit: Kit, shipmentId: string, status: string, at: number, extra: Record<string, unknown> = {}, principal: Principal = adminA) {
  eventSerial += 1;
  return kit.gql(
    RECORD,
    {
      input: {
        shipmentId,
        clientEventId: `evt-${eventSerial}-${randomBytes(4).toString('hex')}`,
        occurredAt: new Date(Date.now() + at * 60_000).toISOString(),
        status,
        message: `${status} at ${at}`,
        ...extra,
      },
    },
    principal,
  );
}
