/**
 * Who is calling the gateway. PLACEHOLDER until token verification lands
 * (the access issue replaces this file's `resolveGatewayPrincipal`):
 * in development, the caller may name a principal in `x-dev-principal`
 * (base64url JSON, see lib/principal.ts) and defaults to the demo tenant
 * admin of Northwind; in staging and production every caller is anonymous.
 */
import type { IncomingMessage } from 'node:http';
import type { AppEnv } from '../lib/config';
import type { Principal } from '../lib/context';
import { demoPlan } from '../lib/demo';
import { decodePrincipal } from '../lib/principal';

export const DEV_PRINCIPAL_HEADER = 'x-dev-principal';

export function defaultDevPrincipal(): Principal {
  const plan = demoPlan();
  const admin = plan.users[0];
  const region = plan.tenants.find((t) => t.id === admin.tenantId)?.homeRegion;
  return { kind: 'user', id: admin.id, tenantId: admin.tenantId, region, roles: admin.roles, scopes: ['shipments:read', 'shipments:write', 'events:write', 'devices:read', 'devices:write'] };
}

export function resolveGatewayPrincipal(appEnv: AppEnv): (req: IncomingMessage) => Principal {
  if (appEnv !== 'development') return () => ({ kind: 'anonymous' });
  const fallback = defaultDevPrincipal();
  return (req) => {
    const raw = req.headers[DEV_PRINCIPAL_HEADER];
    if (typeof raw !== 'string') return fallback;
    return decodePrincipal(raw);
  };
}
