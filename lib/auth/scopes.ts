/**
 * Which scopes people get from their roles. API clients and devices do not
 * use this: their scopes are what their grant allows (a subset they ask for).
 */
import type { ScopeName } from '../../schema';

export const ROLES = ['TENANT_ADMIN', 'SECURITY_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT', 'DISPATCHER', 'DRIVER', 'AUDITOR', 'PARTNER', 'DEVICE'] as const;
export type Role = (typeof ROLES)[number];

/** Roles a person can hold (PARTNER and DEVICE belong to API clients and devices). */
export const PERSON_ROLES: readonly Role[] = ['TENANT_ADMIN', 'SECURITY_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT', 'DISPATCHER', 'DRIVER', 'AUDITOR'];

const READ: ScopeName[] = ['shipments:read', 'devices:read', 'tenants:read', 'users:read', 'clients:read', 'privacy:read', 'dsr:read'];
/** Every person may read and change their own privacy settings (the subjectAccess policy keeps it to their own). */
const SELF: ScopeName[] = ['privacy:read', 'privacy:write'];

export const ROLE_SCOPES: Record<Role, readonly ScopeName[]> = {
  TENANT_ADMIN: [...READ, 'shipments:write', 'events:write', 'devices:write', 'readings:write', 'users:write', 'privacy:write', 'dsr:write'],
  SECURITY_ADMIN: [...SELF, 'tenants:read', 'tenants:write', 'users:read', 'users:write', 'clients:read', 'shipments:read', 'devices:read', 'devices:write'],
  PRIVACY_OFFICER: [...SELF, 'shipments:read', 'dsr:read', 'dsr:write', 'users:read', 'tenants:read'],
  SUPPORT_AGENT: [...SELF, 'shipments:read', 'shipments:write', 'devices:read', 'dsr:read', 'dsr:write', 'tenants:read'],
  DISPATCHER: [...SELF, 'shipments:read', 'shipments:write', 'events:write', 'devices:read', 'devices:write', 'tenants:read'],
  DRIVER: [...SELF, 'shipments:read', 'events:write', 'tenants:read'],
  AUDITOR: [...READ, 'privacy:write'],
  PARTNER: ['shipments:read', 'events:write', 'tenants:read'],
  DEVICE: ['events:write', 'readings:write'],
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Scopes implied by a set of roles (deduplicated, stable order). */
export function scopesForRoles(roles: readonly string[]): ScopeName[] {
  const out = new Set<ScopeName>();
  for (const r of roles) if (isRole(r)) for (const s of ROLE_SCOPES[r]) out.add(s);
  return [...out];
}
