/**
 * SCIM User resources (RFC 7643 §4.1) ↔ identity users: `userName` is the
 * sign-in email, `name.formatted` / `displayName` the user's name,
 * `active` is status ACTIVE. Parses create bodies and PatchOp requests
 * (RFC 7644 §3.5.2) for the attributes we keep: `active`, `externalId`,
 * `displayName`, `name.formatted`. Roles are not provisioned by SCIM: a
 * tenant admin grants them.
 */
import type { UserDoc } from '../model';
import { ScimError } from './errors';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export function toScimUser(u: UserDoc, baseUrl: string): Record<string, unknown> {
  return {
    schemas: [USER_SCHEMA],
    id: u._id,
    ...(u.externalId ? { externalId: u.externalId } : {}),
    userName: u.email,
    name: { formatted: u.name },
    displayName: u.name,
    emails: [{ value: u.email, type: 'work', primary: true }],
    active: u.status === 'ACTIVE',
    meta: { resourceType: 'User', created: u.createdAt.toISOString(), lastModified: (u.updatedAt ?? u.createdAt).toISOString(), location: `${baseUrl}/Users/${u._id}` },
  };
}

export interface ScimUserInput {
  userName: string;
  name: string;
  externalId?: string;
  active: boolean;
}

/** Changes a PATCH asks for (only those present are applied). */
export interface ScimUserChanges {
  active?: boolean;
  externalId?: string;
  name?: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim() : undefined);

/** SCIM booleans; some IdPs (Azure AD) send "True"/"False" strings. */
function bool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  throw new ScimError(400, 'active must be a boolean', 'invalidValue');
}

function nameOf(body: Record<string, unknown>): string | undefined {
  const name = (body.name ?? {}) as Record<string, unknown>;
  const parts = [str(name.givenName), str(name.familyName)].filter(Boolean).join(' ');
  return str(name.formatted) ?? (parts || undefined) ?? str(body.displayName);
}

export function parseNewUser(body: Record<string, unknown>): ScimUserInput {
  const userName = str(body.userName);
  if (!userName) throw new ScimError(400, 'userName is required', 'invalidValue');
  return { userName, name: nameOf(body) ?? userName, externalId: str(body.externalId), active: body.active === undefined ? true : bool(body.active) };
}

/** Applies one attribute of a replace/add operation to `changes`; unknown attributes are refused. */
function applyAttribute(changes: ScimUserChanges, path: string, value: unknown): void {
  switch (path.toLowerCase()) {
    case 'active':
      changes.active = bool(value);
      return;
    case 'externalid':
      changes.externalId = str(value);
      return;
    case 'displayname':
    case 'name.formatted':
      changes.name = str(value) ?? changes.name;
      return;
    case 'name':
      changes.name = nameOf({ name: value }) ?? changes.name;
      return;
    default:
      throw new ScimError(400, 'Only active, externalId, displayName and name can be changed', 'invalidPath');
  }
}

export function parsePatch(body: Record<string, unknown>): ScimUserChanges {
  const schemas = body.schemas;
  if (!Array.isArray(schemas) || !schemas.includes(PATCH_SCHEMA)) throw new ScimError(400, 'A PatchOp request is expected', 'invalidSyntax');
  const ops = body.Operations;
  if (!Array.isArray(ops) || ops.length === 0 || ops.length > 50) throw new ScimError(400, 'Operations must list 1 to 50 operations', 'invalidSyntax');
  const changes: ScimUserChanges = {};
  for (const raw of ops as Array<Record<string, unknown>>) {
    const op = typeof raw?.op === 'string' ? raw.op.toLowerCase() : '';
    if (op !== 'replace' && op !== 'add') throw new ScimError(400, 'Only replace and add operations are supported', 'invalidSyntax');
    if (typeof raw.path === 'string') applyAttribute(changes, raw.path, raw.value);
    else if (raw.value && typeof raw.value === 'object' && !Array.isArray(raw.value)) {
      // The value-object form: { "op": "replace", "value": { "active": false } }.
      for (const [key, value] of Object.entries(raw.value as Record<string, unknown>)) applyAttribute(changes, key, value);
    } else throw new ScimError(400, 'An operation needs a path or an object value', 'invalidSyntax');
  }
  return changes;
}
