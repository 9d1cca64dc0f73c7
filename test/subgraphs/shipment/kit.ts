/**
 * Test kit of the shipment subgraph: devdb over TCP, a fresh database, the
 * subgraph on port 0 with a controllable clock and an in-memory audit
 * sink, and a GraphQL client that speaks real HTTP as a given principal.
 */
import { randomBytes } from 'node:crypto';
import { startDevDb, type DevDb } from '../../../devdb';
import { MemoryAuditSink } from '../../../lib/audit';
import type { Principal } from '../../../lib/context';
import { connectDataStores, type DataStores } from '../../../lib/db';
import { demoPlan } from '../../../lib/demo';
import { createLogger } from '../../../lib/logger';
import { encodePrincipal, PRINCIPAL_HEADER } from '../../../lib/principal';
import type { SubgraphServer } from '../../../lib/subgraph';
import { buildShipmentSubgraph } from '../../../subgraphs/shipment/server';

export const plan = demoPlan();
export const [tenantA, tenantB] = plan.tenants;

export function userOf(tenantId: string, role = 'TENANT_ADMIN'): Principal {
  const u = plan.users.find((x) => x.tenantId === tenantId && x.roles.includes(role));
  if (!u) throw new Error(`no demo user with ${role} in ${tenantId}`);
  return { kind: 'user', id: u.id, tenantId, roles: u.roles, scopes: ['shipments:read', 'shipments:write', 'events:write'] };
}

export const adminA = userOf(tenantA.id);
export const adminB = userOf(tenantB.id);
export const system: Principal = { kind: 'system', id: 'test' };
export const anonymous: Principal = { kind: 'anonymous' };

export interface GraphQLResult<T = any> {
  status: number;
  data?: T;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, any> }>;
}

export interface Kit {
  devdb: DevDb;
  stores: DataStores;
  audit: MemoryAuditSink;
  subgraph: SubgraphServer;
  url: string;
  /** The services' clock: `clock.offsetMs` shifts it from real time. */
  clock: { offsetMs: number; now(): Date };
  gql<T = any>(query: string, variables?: Record<string, unknown>, principal?: Principal): Promise<GraphQLResult<T>>;
  stop(): Promise<void>;
}

export async function startKit(): Promise<Kit> {
  const devdb = await startDevDb({ port: 0 });
  const stores = await connectDataStores(devdb.uri, `test_shipment_${randomBytes(4).toString('hex')}`);
  const audit = new MemoryAuditSink();
  const clock = {
    offsetMs: 0,
    now() {
      return new Date(Date.now() + this.offsetMs);
    },
  };
  const subgraph = await buildShipmentSubgraph({ stores, audit, logger: createLogger('test', 'silent'), appEnv: 'development', now: () => clock.now() });
  const port = await subgraph.listen(0);
  const url = `http://127.0.0.1:${port}/graphql`;
  return {
    devdb,
    stores,
    audit,
    subgraph,
    url,
    clock,
    async gql(query, variables, principal = adminA) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [PRINCIPAL_HEADER]: encodePrincipal(principal) },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: any; errors?: GraphQLResult['errors'] };
      return { status: res.status, data: body.data ?? undefined, errors: body.errors };
    },
    async stop() {
      await subgraph.stop();
      await stores.close();
      await devdb.stop();
    },
  };
}

/** `extensions.code` of each error, in order. */
export function codes(res: GraphQLResult): string[] {
  return (res.errors ?? []).map((e) => String(e.extensions?.code));
}

/** `extensions.reason` of each error, in order. */
export function reasons(res: GraphQLResult): string[] {
  return (res.errors ?? []).map((e) => String(e.extensions?.reason));
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
