/**
 * The named ABAC policies of `@policy(name:)`, one function each. Every
 * policy answers for one principal, one object (`parent`, the value whose
 * field is being resolved; undefined on a root field), the field's
 * arguments and the current time. System principals never get here (the
 * rule compiler lets them through first); anonymous callers neither (they
 * are refused before any policy runs).
 *
 * Tenancy is filtered in data access (queries carry the tenant): a policy is
 * the second line of defence. Where the object carries no `tenantId` at all
 * — a root field, or a federated reference stub such as `{ id }` in a
 * subgraph that does not own the entity — the tenancy policies allow,
 * because the query that produced the object (or the owning subgraph, for
 * a stub) already enforced the tenant. An object that has a `tenantId`
 * property that is null or empty is refused: that is a record without a
 * tenant, not a stub.
 */
import { dataTagList, regionList, type Principal, type Region, type TenantPrincipal } from '../context';
import type { PolicyName } from '../../schema';

/** What a policy returns: allowed, refused, or refused with a code the client can act on. */
export type PolicyOutcome = boolean | 'MFA_REQUIRED' | 'STEP_UP_REQUIRED';

/** The part of the request context a policy reads. */
export interface PolicyContext {
  principal: Principal;
}

/**
 * One policy. `requiredRoles` lists the `@auth(requires:)` lists of the
 * guards around the field (type guard, field guard), each of which the
 * caller satisfies with at least one role; `driverOnShift` uses it to tell a
 * caller admitted as a DRIVER from one admitted by another role. Throwing
 * counts as a refusal (FORBIDDEN).
 */
export type Policy = (
  ctx: PolicyContext,
  parent: unknown,
  args: Readonly<Record<string, unknown>>,
  now: Date,
  requiredRoles?: readonly (readonly string[])[],
) => PolicyOutcome;

export interface PolicyOptions {
  /**
   * Tenant id of the platform operator: its people pass `platformOperator`
   * (and see every tenant through `tenantVisible`).
   * @default undefined — nobody is a platform operator
   */
  operatorTenantId?: string;
  /**
   * How long after `auth_time` an action guarded by `recentMfa` is allowed
   * before the caller must authenticate again, in seconds.
   * @default 900 (15 minutes)
   */
  stepUpWindowSeconds?: number;
  /**
   * `amr` values (RFC 8176) that show a second factor. `pwd`, `pin`, `kba`,
   * `sms` and `tel` alone do not count.
   * @default ['mfa', 'mca', 'otp', 'hwk', 'swk', 'sc', 'fpt', 'face', 'iris', 'retina', 'vbm']
   */
  mfaMethods?: readonly string[];
  /**
   * How far in the future an `auth_time` may lie (clock skew between the
   * issuer and us) before the login counts as not recent, in seconds.
   * @default 60
   */
  clockToleranceSeconds?: number;
  /**
   * The clock the rules read (tests freeze it).
   * @default () => new Date()
   */
  now?: () => Date;
}

export const DEFAULT_STEP_UP_WINDOW_SECONDS = 15 * 60;
export const DEFAULT_MFA_METHODS: readonly string[] = ['mfa', 'mca', 'otp', 'hwk', 'swk', 'sc', 'fpt', 'face', 'iris', 'retina', 'vbm'];
const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60;

/** Roles whose holders may act on a data subject of their own tenant (`subjectAccess`). */
const SUBJECT_STAFF = ['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT'];

/** Policies whose answer depends on the object or the arguments, not only on the caller and the time. */
export const OBJECT_POLICIES: ReadonlySet<PolicyName> = new Set<PolicyName>(['sameTenant', 'tenantOrPartner', 'tenantVisible', 'regionAllowed', 'dataTagCleared', 'subjectAccess']);

/** Every policy of `POLICIES`, configured. */
export function createPolicies(options: PolicyOptions = {}): Record<PolicyName, Policy> {
  const windowSeconds = options.stepUpWindowSeconds ?? DEFAULT_STEP_UP_WINDOW_SECONDS;
  const toleranceSeconds = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  const mfaMethods = new Set(options.mfaMethods ?? DEFAULT_MFA_METHODS);
  const operatorTenantId = options.operatorTenantId;
  if (!Number.isFinite(windowSeconds) || windowSeconds <= 0) throw new Error('stepUpWindowSeconds must be a positive number');

  // The operator's people only: its API clients and devices are not platform operators.
  const isOperator = (p: TenantPrincipal) => operatorTenantId !== undefined && operatorTenantId !== '' && p.tenantId === operatorTenantId && (p.subjectType ?? 'user') === 'user';

  return {
    sameTenant: (ctx, parent) => {
      const p = userOf(ctx);
      if (!p) return false;
      const owner = ownerTenant(parent, 'tenantId');
      return owner === ABSENT || owner === p.tenantId;
    },

    tenantOrPartner: (ctx, parent) => {
      const p = userOf(ctx);
      if (!p) return false;
      const owner = ownerTenant(parent, 'tenantId');
      if (owner === ABSENT || owner === p.tenantId) return true;
      // partnerOf lists only live contracts: token verification drops ended ones on every request.
      return owner !== undefined && p.roles.includes('PARTNER') && (p.partnerOf ?? []).includes(owner);
    },

    // The object is a Tenant: its own `id` is the tenant.
    tenantVisible: (ctx, parent) => {
      const p = userOf(ctx);
      if (!p) return false;
      if (isOperator(p)) return true;
      const tenant = ownerTenant(parent, 'id');
      if (tenant === ABSENT || tenant === p.tenantId) return true;
      return tenant !== undefined && p.roles.includes('PARTNER') && (p.partnerOf ?? []).includes(tenant);
    },

    // Data access already keeps other regions out (lib/caller.ts `recordFilter`); this is the second line.
    regionAllowed: (ctx, parent) => {
      const p = userOf(ctx);
      if (!p) return false;
      if (p.dataRegions === undefined) return true;
      const region = ownerTenant(parent, 'region');
      if (region === ABSENT) return true;
      return region !== undefined && regionList(p.dataRegions).includes(region as Region);
    },

    dataTagCleared: (ctx, parent) => {
      const p = userOf(ctx);
      if (!p) return false;
      if (parent === null || typeof parent !== 'object' || !('dataTags' in parent)) return true;
      const tags: unknown = (parent as { dataTags: unknown }).dataTags;
      // Null (or absent, above) means untagged; anything but a list of strings matches nobody.
      if (tags === null || tags === undefined) return true;
      if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) return false;
      const cleared = new Set<string>(dataTagList(p.clearances));
      return tags.every((t: string) => cleared.has(t));
    },

    driverOnShift: (ctx, _parent, _args, now, requiredRoles = []) => {
      const p = userOf(ctx);
      if (!p) return false;
      if (!p.roles.includes('DRIVER')) return true;
      // Admitted by another role than DRIVER (a driver who is also a dispatcher): the shift does not apply.
      const others = p.roles.filter((r) => r !== 'DRIVER');
      if (others.length > 0 && requiredRoles.every((required) => required.some((r) => others.includes(r)))) return true;
      return p.shift !== undefined && withinShift(now, p.shift);
    },

    subjectAccess: (ctx, parent, args) => {
      const p = userOf(ctx);
      if (!p) return false;
      const subjectId = subjectOf(parent, args);
      const isPerson = p.subjectType === undefined || p.subjectType === 'user';
      if (isPerson && subjectId !== undefined && subjectId === p.id) return true;
      if (!p.roles.some((r) => SUBJECT_STAFF.includes(r))) return false;
      // Staff act on subjects of their own tenant; without a tenant on the object, the query filters by tenant.
      const owner = ownerTenant(parent, 'tenantId');
      return owner === ABSENT || owner === p.tenantId;
    },

    recentMfa: (ctx, _parent, _args, now) => {
      const p = userOf(ctx);
      if (!p) return false;
      if (!(p.amr ?? []).some((m) => mfaMethods.has(m))) return 'MFA_REQUIRED';
      if (typeof p.authTime !== 'number' || !Number.isFinite(p.authTime)) return 'STEP_UP_REQUIRED';
      const ageSeconds = now.getTime() / 1000 - p.authTime;
      if (ageSeconds < -toleranceSeconds || ageSeconds > windowSeconds) return 'STEP_UP_REQUIRED';
      return true;
    },

    platformOperator: (ctx) => {
      const p = userOf(ctx);
      return p !== undefined && isOperator(p);
    },
  };
}

function userOf(ctx: PolicyContext): TenantPrincipal | undefined {
  const p = ctx.principal;
  return p.kind === 'user' ? p : undefined;
}

/** The object has no such property at all (a root field, a reference stub). */
const ABSENT = Symbol('absent');

/**
 * The tenant an object belongs to (or its region), read from `key`: ABSENT when the object
 * does not have the property, undefined when it has one that is not a
 * usable id (null, empty): such an object matches nobody.
 */
function ownerTenant(parent: unknown, key: 'tenantId' | 'id' | 'region'): string | undefined | typeof ABSENT {
  if (parent === null || typeof parent !== 'object' || !(key in parent)) return ABSENT;
  const value: unknown = (parent as Record<string, unknown>)[key];
  if (typeof value === 'string') return value === '' ? undefined : value;
  // An ObjectId or similar id object.
  if (value !== null && typeof value === 'object' && typeof (value as { toHexString?: unknown }).toHexString === 'function') return String(value);
  return undefined;
}

/**
 * The data subject a `subjectAccess` field is about: the `subjectId`
 * argument (root fields), else the object's `subjectId`, else the object's
 * own `id` (a User: a user's subject id is their user id).
 */
function subjectOf(parent: unknown, args: Readonly<Record<string, unknown>>): string | undefined {
  if (typeof args.subjectId === 'string') return args.subjectId;
  if (parent !== null && typeof parent === 'object') {
    const { subjectId, id } = parent as { subjectId?: unknown; id?: unknown };
    if (typeof subjectId === 'string') return subjectId;
    if (typeof id === 'string') return id;
  }
  return undefined;
}

const HH_MM = /^(\d{2}):(\d{2})$/;

/** Minutes since midnight of "HH:MM" (00:00 … 24:00), or undefined when malformed. */
function minutesOf(text: string): number | undefined {
  const m = HH_MM.exec(text);
  if (!m) return undefined;
  const hours = Number(m[1]);
  const minutes = Number(m[2]);
  if (minutes > 59 || hours > 24 || (hours === 24 && minutes > 0)) return undefined;
  return hours * 60 + minutes;
}

// One formatter per time zone: building one costs far more than using it. Only valid zones get here.
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes since local midnight of `now` in `timeZone`, or undefined for an unknown zone. */
export function localMinutes(now: Date, timeZone: string): number | undefined {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    try {
      formatter = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    } catch {
      return undefined;
    }
    formatters.set(timeZone, formatter);
  }
  let hour = 0;
  let minute = 0;
  for (const part of formatter.formatToParts(now)) {
    if (part.type === 'hour') hour = Number(part.value) % 24;
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return hour * 60 + minute;
}

/**
 * True when `now` falls in the daily window [start, end) in the shift's
 * time zone. A window with end before start runs overnight (22:00–06:00).
 * A malformed window, an unknown time zone or start = end admit nobody.
 */
export function withinShift(now: Date, shift: { start: string; end: string; timeZone: string }): boolean {
  const start = minutesOf(shift.start);
  const end = minutesOf(shift.end);
  if (start === undefined || end === undefined || start === end || start >= 24 * 60) return false;
  const at = localMinutes(now, shift.timeZone);
  if (at === undefined) return false;
  return start < end ? at >= start && at < end : at >= start || at < end;
}
