/**
 * The demo data plan seeded by `npm start` on an empty database: stable ids
 * shared by every subgraph's seed, so a shipment's tenant, devices and
 * recipient settings line up across the supergraph. Nothing here is real
 * personal data.
 */
import { createHash } from 'node:crypto';
import type { Region } from './context';

/** A stable 24-hex id (a valid ObjectId) for the n-th demo entity of a kind. */
export function demoId(kind: string, n: number): string {
  return createHash('sha256').update(`tracksafe-demo:${kind}:${n}`).digest('hex').slice(0, 24);
}

export interface DemoTenant {
  id: string;
  name: string;
  kind: 'BRAND' | 'CARRIER' | 'MARKETPLACE' | 'THREE_PL';
  homeRegion: Region;
}

export interface DemoUser {
  id: string;
  tenantId: string;
  email: string;
  name: string;
  roles: string[];
}

export interface DemoDevice {
  id: string;
  tenantId: string;
  kind: 'SCANNER' | 'GATEWAY' | 'SENSOR_TAG' | 'DRIVER_PHONE';
  model: string;
}

export interface DemoShipment {
  id: string;
  tenantId: string;
  region: Region;
  carrier: string;
  trackingNumber: string;
  recipientSubjectId: string;
  /** Devices attached to it (sensor tags). */
  deviceIds: string[];
}

export interface DemoPlan {
  tenants: DemoTenant[];
  users: DemoUser[];
  /** The partner API client: issued by `tenantId`, contracted with the tenants in `partnerOf`. */
  apiClient: { id: string; tenantId: string; name: string; scopes: string[]; partnerOf: string[] };
  devices: DemoDevice[];
  shipments: DemoShipment[];
}

const ROLES = ['TENANT_ADMIN', 'SECURITY_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT', 'DISPATCHER', 'DRIVER', 'AUDITOR'];
const CARRIERS = ['DHL', 'UPS', 'FEDEX', 'POSTNL', 'USPS'];

export function demoPlan(shipmentsPerTenant = 25): DemoPlan {
  const tenants: DemoTenant[] = [
    { id: demoId('tenant', 1), name: 'Northwind Brands', kind: 'BRAND', homeRegion: 'EU' },
    { id: demoId('tenant', 2), name: 'Pacific Freight', kind: 'THREE_PL', homeRegion: 'US' },
  ];
  const users: DemoUser[] = [];
  tenants.forEach((t, ti) =>
    ROLES.forEach((role, ri) => {
      const n = ti * 100 + ri;
      users.push({ id: demoId('user', n), tenantId: t.id, email: `${role.toLowerCase().replace(/_/g, '.')}@${ti ? 'pacific' : 'northwind'}.example`, name: `Demo ${role.toLowerCase().replace(/_/g, ' ')}`, roles: [role] });
    }),
  );
  const devices: DemoDevice[] = [];
  tenants.forEach((t, ti) => {
    for (let i = 0; i < 3; i++) devices.push({ id: demoId('device', ti * 100 + i), tenantId: t.id, kind: 'SCANNER', model: 'Zebra TC52' });
    for (let i = 3; i < 8; i++) devices.push({ id: demoId('device', ti * 100 + i), tenantId: t.id, kind: 'SENSOR_TAG', model: 'TempTag T2' });
  });
  const shipments: DemoShipment[] = [];
  tenants.forEach((t, ti) => {
    const tags = devices.filter((d) => d.tenantId === t.id && d.kind === 'SENSOR_TAG');
    for (let i = 0; i < shipmentsPerTenant; i++) {
      const n = ti * 1000 + i;
      shipments.push({
        id: demoId('shipment', n),
        tenantId: t.id,
        region: t.homeRegion,
        carrier: CARRIERS[i % CARRIERS.length],
        trackingNumber: `TS${String(100000 + n)}${t.homeRegion}`,
        recipientSubjectId: demoId('subject', n),
        deviceIds: [tags[i % tags.length].id],
      });
    }
  });
  return {
    tenants,
    users,
    apiClient: { id: demoId('client', 1), tenantId: tenants[0].id, name: 'Demo carrier partner', scopes: ['shipments:read', 'events:write'], partnerOf: [tenants[1].id] },
    devices,
    shipments,
  };
}
