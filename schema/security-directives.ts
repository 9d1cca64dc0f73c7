/**
 * Reads the security directives declared in `schema/directives.graphql`
 * (`@auth`, `@scope`, `@policy`, `@public`, `@pii`) from SDL nodes, and names
 * the policies and scopes the schema may use. The rule compiler (graphql-shield),
 * the PII inventory and the schema tests all read directives through here, so
 * the directive syntax is interpreted in exactly one place.
 */
import type { ConstDirectiveNode, ConstValueNode } from 'graphql';

/** Any SDL node that can carry directives (type, field, argument, input field). */
export interface DirectiveHolder {
  readonly directives?: readonly ConstDirectiveNode[] | undefined;
}

/** Names of the directives that decide who may resolve a field. */
export const GUARD_DIRECTIVES = ['auth', 'scope', 'policy', 'public'] as const;

/**
 * The named ABAC policies `@policy(name:)` may use, with what each checks.
 * An unknown name in the SDL fails the schema tests (and the boot).
 */
export const POLICIES = {
  sameTenant: "The object's tenantId is the caller's tenant.",
  tenantOrPartner:
    "The object's tenantId is the caller's tenant, or the caller is a PARTNER whose API client was issued by that tenant and whose contract has not ended.",
  tenantVisible:
    'The tenant is the caller\'s own, a PARTNER\'s contracting tenant, or the caller is a platform operator.',
  regionAllowed: "The object's data region is one of the caller's data regions; callers without a region restriction are not constrained.",
  dataTagCleared: "The caller is cleared for every data tag the object carries (an untagged object needs no clearance).",
  driverOnShift: 'A DRIVER is inside their shift window; other principals are not constrained.',
  subjectAccess:
    "The caller is the data subject (a user reading their own settings), or a TENANT_ADMIN, PRIVACY_OFFICER or SUPPORT_AGENT of the subject's tenant.",
  recentMfa: 'The token shows an MFA method in `amr` and `auth_time` within the step-up window (15 min by default).',
  platformOperator: "The caller belongs to the platform operator's own tenant.",
} as const satisfies Record<string, string>;

/** A policy name from {@link POLICIES}. */
export type PolicyName = keyof typeof POLICIES;

/**
 * The OAuth scope vocabulary `@scope(any:)` may use. People get the scopes
 * their roles imply; API clients and devices get a subset of their grant.
 */
export const SCOPES = [
  'shipments:read',
  'shipments:write',
  'events:write',
  'devices:read',
  'devices:write',
  'readings:write',
  'tenants:read',
  'tenants:write',
  'users:read',
  'users:write',
  'clients:read',
  'privacy:read',
  'privacy:write',
  'dsr:read',
  'dsr:write',
] as const;

/** A scope from {@link SCOPES}. */
export type ScopeName = (typeof SCOPES)[number];

/** Classes of personal data, as in `enum PiiClass`. */
export type PiiClass = 'PII' | 'SENSITIVE';

/**
 * What one SDL element (type or field) requires of the caller. All present
 * parts must hold; a field's guard applies on top of its type's guard.
 */
export interface Guard {
  /** From `@auth(requires:)`: the caller holds at least one. Undefined when absent. */
  readonly roles: readonly string[] | undefined;
  /** From `@scope(any:)`: the caller holds at least one. Undefined when absent. */
  readonly scopes: readonly string[] | undefined;
  /** From every `@policy(name:)`: each must hold. Empty when absent. */
  readonly policies: readonly string[];
  /** True when `@public` is present: no token needed. */
  readonly isPublic: boolean;
}

/** The guard declared on `node`, or undefined when it carries no guard directive. */
export function readGuard(node: DirectiveHolder | null | undefined): Guard | undefined {
  const directives = node?.directives ?? [];
  let roles: string[] | undefined;
  let scopes: string[] | undefined;
  const policies: string[] = [];
  let isPublic = false;
  let found = false;
  for (const directive of directives) {
    switch (directive.name.value) {
      case 'auth':
        roles = [...(roles ?? []), ...listArgument(directive, 'requires')];
        found = true;
        break;
      case 'scope':
        scopes = [...(scopes ?? []), ...listArgument(directive, 'any')];
        found = true;
        break;
      case 'policy':
        policies.push(...listArgument(directive, 'name'));
        found = true;
        break;
      case 'public':
        isPublic = true;
        found = true;
        break;
      default:
        break;
    }
  }
  return found ? { roles, scopes, policies, isPublic } : undefined;
}

/** The `@pii(class:)` of `node`, or undefined when it is not personal data. */
export function readPiiClass(node: DirectiveHolder | null | undefined): PiiClass | undefined {
  const directive = node?.directives?.find((d) => d.name.value === 'pii');
  if (!directive) return undefined;
  const [value] = listArgument(directive, 'class');
  if (value !== 'PII' && value !== 'SENSITIVE') {
    throw new Error(`@pii(class:) must be PII or SENSITIVE, got ${String(value)}`);
  }
  return value;
}

/** True when `name` is one of {@link POLICIES}. */
export function isPolicyName(name: string): name is PolicyName {
  return Object.hasOwn(POLICIES, name);
}

/** True when `scope` is one of {@link SCOPES}. */
export function isScopeName(scope: string): scope is ScopeName {
  return (SCOPES as readonly string[]).includes(scope);
}

// A list argument may be written as a single value (GraphQL input coercion).
function listArgument(directive: ConstDirectiveNode, name: string): string[] {
  const argument = directive.arguments?.find((a) => a.name.value === name);
  if (!argument) return [];
  const value = argument.value;
  return value.kind === 'ListValue' ? value.values.map(scalarText) : [scalarText(value)];
}

function scalarText(value: ConstValueNode): string {
  if (value.kind === 'EnumValue' || value.kind === 'StringValue') return value.value;
  throw new Error(`Expected an enum or string value in a security directive, got ${value.kind}`);
}
