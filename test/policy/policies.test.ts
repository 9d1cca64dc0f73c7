/**
 * The named policies of `@policy(name:)`, one describe each, with a frozen
 * clock.
 */
import type { Principal, TenantPrincipal } from '../../lib/context';
import { createPolicies, withinShift } from '../../lib/policy/policies';
import { POLICIES } from '../../schema';

const NOW = new Date('2025-03-10T09:30:00.000Z');
const nowSeconds = NOW.getTime() / 1000;

const user = (over: Partial<TenantPrincipal> = {}): TenantPrincipal => ({ kind: 'user', id: 'u-1', tenantId: 'tA', roles: ['TENANT_ADMIN'], scopes: [], ...over });
const ctx = (principal: Principal) => ({ principal });
const anonymous: Principal = { kind: 'anonymous' };

const policies = createPolicies();

describe('createPolicies', () => {
  it('implements every policy the schema may name', () => {
    expect(Object.keys(policies).sort()).toEqual(Object.keys(POLICIES).sort());
  });

  it('refuses a step-up window that is not positive', () => {
    expect(() => createPolicies({ stepUpWindowSeconds: 0 })).toThrow(/stepUpWindowSeconds/);
  });
});

describe('sameTenant', () => {
  const { sameTenant } = policies;

  it('allows an object of the caller’s tenant and refuses another tenant’s', () => {
    expect(sameTenant(ctx(user()), { id: 'x', tenantId: 'tA' }, {}, NOW)).toBe(true);
    expect(sameTenant(ctx(user()), { id: 'x', tenantId: 'tB' }, {}, NOW)).toBe(false);
  });

  it('allows a root field and a reference stub without tenantId: the query already filtered by tenant', () => {
    expect(sameTenant(ctx(user()), undefined, {}, NOW)).toBe(true);
    expect(sameTenant(ctx(user()), { id: 'x' }, {}, NOW)).toBe(true);
  });

  it('refuses an object whose tenantId is present but empty or null', () => {
    expect(sameTenant(ctx(user()), { id: 'x', tenantId: null }, {}, NOW)).toBe(false);
    expect(sameTenant(ctx(user()), { id: 'x', tenantId: '' }, {}, NOW)).toBe(false);
  });

  it('refuses an anonymous caller', () => {
    expect(sameTenant(ctx(anonymous), { tenantId: 'tA' }, {}, NOW)).toBe(false);
  });
});

describe('tenantOrPartner', () => {
  const { tenantOrPartner } = policies;
  const partner = user({ id: 'client-1', roles: ['PARTNER'], subjectType: 'client', partnerOf: ['tB'] });

  it('allows the owning tenant', () => {
    expect(tenantOrPartner(ctx(user()), { tenantId: 'tA' }, {}, NOW)).toBe(true);
  });

  it('allows a PARTNER for a tenant it is contracted with, and no other', () => {
    expect(tenantOrPartner(ctx(partner), { tenantId: 'tB' }, {}, NOW)).toBe(true);
    expect(tenantOrPartner(ctx(partner), { tenantId: 'tC' }, {}, NOW)).toBe(false);
  });

  it('ignores partnerOf for a caller that is not a PARTNER', () => {
    expect(tenantOrPartner(ctx(user({ partnerOf: ['tB'] })), { tenantId: 'tB' }, {}, NOW)).toBe(false);
  });

  it('allows a stub without tenantId and refuses a null tenantId', () => {
    expect(tenantOrPartner(ctx(partner), { id: 's1' }, {}, NOW)).toBe(true);
    expect(tenantOrPartner(ctx(partner), { id: 's1', tenantId: null }, {}, NOW)).toBe(false);
  });
});

describe('tenantVisible', () => {
  const withOperator = createPolicies({ operatorTenantId: 'tOps' }).tenantVisible;
  const { tenantVisible } = policies;

  it('shows the caller’s own tenant (the object is the Tenant: its id)', () => {
    expect(tenantVisible(ctx(user()), { id: 'tA', name: 'A' }, {}, NOW)).toBe(true);
    expect(tenantVisible(ctx(user()), { id: 'tB', name: 'B' }, {}, NOW)).toBe(false);
  });

  it('shows a PARTNER its contracting tenants', () => {
    const partner = user({ tenantId: 'tP', roles: ['PARTNER'], partnerOf: ['tB'] });
    expect(tenantVisible(ctx(partner), { id: 'tB' }, {}, NOW)).toBe(true);
    expect(tenantVisible(ctx(partner), { id: 'tC' }, {}, NOW)).toBe(false);
  });

  it('shows every tenant to the platform operator’s people, and only when one is configured', () => {
    expect(withOperator(ctx(user({ tenantId: 'tOps' })), { id: 'tB' }, {}, NOW)).toBe(true);
    expect(tenantVisible(ctx(user({ tenantId: 'tOps' })), { id: 'tB' }, {}, NOW)).toBe(false);
  });
});

describe('regionAllowed', () => {
  const { regionAllowed } = policies;
  const euOnly = user({ dataRegions: ['EU'] });

  it('does not constrain a caller without a region restriction', () => {
    expect(regionAllowed(ctx(user()), { region: 'US' }, {}, NOW)).toBe(true);
  });

  it('allows an object of one of the caller’s regions and refuses any other', () => {
    expect(regionAllowed(ctx(euOnly), { region: 'EU' }, {}, NOW)).toBe(true);
    expect(regionAllowed(ctx(euOnly), { region: 'US' }, {}, NOW)).toBe(false);
    expect(regionAllowed(ctx(user({ dataRegions: ['US', 'APAC'] })), { region: 'APAC' }, {}, NOW)).toBe(true);
  });

  it('refuses everything region-bound to a caller restricted to no region, and unknown regions to everyone restricted', () => {
    expect(regionAllowed(ctx(user({ dataRegions: [] })), { region: 'EU' }, {}, NOW)).toBe(false);
    expect(regionAllowed(ctx(euOnly), { region: 'MARS' }, {}, NOW)).toBe(false);
    expect(regionAllowed(ctx(user({ dataRegions: ['MARS'] as never })), { region: 'MARS' }, {}, NOW)).toBe(false);
  });

  it('allows a root field and a reference stub without region (data access filtered), refuses a present but empty region', () => {
    expect(regionAllowed(ctx(euOnly), undefined, {}, NOW)).toBe(true);
    expect(regionAllowed(ctx(euOnly), { id: 'x' }, {}, NOW)).toBe(true);
    expect(regionAllowed(ctx(euOnly), { id: 'x', region: null }, {}, NOW)).toBe(false);
    expect(regionAllowed(ctx(euOnly), { id: 'x', region: '' }, {}, NOW)).toBe(false);
  });

  it('refuses an anonymous caller', () => {
    expect(regionAllowed(ctx(anonymous), { region: 'EU' }, {}, NOW)).toBe(false);
  });
});

describe('dataTagCleared', () => {
  const { dataTagCleared } = policies;
  const medical = user({ clearances: ['MEDICAL'] });

  it('allows an untagged object to anyone, cleared or not', () => {
    expect(dataTagCleared(ctx(user()), { dataTags: [] }, {}, NOW)).toBe(true);
    expect(dataTagCleared(ctx(user()), { dataTags: null }, {}, NOW)).toBe(true);
    expect(dataTagCleared(ctx(user()), { id: 'x' }, {}, NOW)).toBe(true);
    expect(dataTagCleared(ctx(user()), undefined, {}, NOW)).toBe(true);
  });

  it('needs a clearance for every tag of the object', () => {
    expect(dataTagCleared(ctx(medical), { dataTags: ['MEDICAL'] }, {}, NOW)).toBe(true);
    expect(dataTagCleared(ctx(medical), { dataTags: ['MEDICAL', 'HAZMAT'] }, {}, NOW)).toBe(false);
    expect(dataTagCleared(ctx(user()), { dataTags: ['HIGH_VALUE'] }, {}, NOW)).toBe(false);
    expect(dataTagCleared(ctx(user({ clearances: ['HAZMAT', 'MEDICAL', 'GOVERNMENT', 'HIGH_VALUE'] })), { dataTags: ['GOVERNMENT', 'HAZMAT'] }, {}, NOW)).toBe(true);
  });

  it('refuses malformed tags and ignores unknown clearances', () => {
    expect(dataTagCleared(ctx(medical), { dataTags: 'MEDICAL' }, {}, NOW)).toBe(false);
    expect(dataTagCleared(ctx(medical), { dataTags: [{ $ne: null }] }, {}, NOW)).toBe(false);
    expect(dataTagCleared(ctx(user({ clearances: ['SECRET'] as never })), { dataTags: ['SECRET'] }, {}, NOW)).toBe(false);
  });

  it('refuses an anonymous caller', () => {
    expect(dataTagCleared(ctx(anonymous), { dataTags: [] }, {}, NOW)).toBe(false);
  });
});

describe('driverOnShift', () => {
  const { driverOnShift } = policies;
  const amsterdam = { start: '08:00', end: '17:00', timeZone: 'Europe/Amsterdam' };
  const driver = (shift?: TenantPrincipal['shift'], roles = ['DRIVER']) => user({ roles, shift });
  const at = (iso: string) => new Date(iso);

  it('does not constrain callers who are not drivers', () => {
    expect(driverOnShift(ctx(user()), undefined, {}, NOW)).toBe(true);
  });

  it('admits a driver inside the shift in the shift’s time zone (UTC+1 in March) and refuses outside', () => {
    // 09:30 UTC = 10:30 in Amsterdam.
    expect(driverOnShift(ctx(driver(amsterdam)), undefined, {}, NOW)).toBe(true);
    // 06:59 UTC = 07:59 local: before the shift.
    expect(driverOnShift(ctx(driver(amsterdam)), undefined, {}, at('2025-03-10T06:59:00Z'))).toBe(false);
    expect(driverOnShift(ctx(driver(amsterdam)), undefined, {}, at('2025-03-10T07:00:00Z'))).toBe(true);
    // 16:00 UTC = 17:00 local: the end is exclusive.
    expect(driverOnShift(ctx(driver(amsterdam)), undefined, {}, at('2025-03-10T16:00:00Z'))).toBe(false);
  });

  it('follows daylight saving time (UTC+2 in July)', () => {
    expect(driverOnShift(ctx(driver(amsterdam)), undefined, {}, at('2025-07-10T06:30:00Z'))).toBe(true);
    expect(driverOnShift(ctx(driver(amsterdam)), undefined, {}, at('2025-07-10T15:30:00Z'))).toBe(false);
  });

  it('handles an overnight shift', () => {
    const night = { start: '22:00', end: '06:00', timeZone: 'America/New_York' };
    // New York is on UTC-4 from 9 March 2025: 03:00Z = 23:00, 09:59Z = 05:59, 10:00Z = 06:00 (end, exclusive), 16:00Z = noon.
    expect(driverOnShift(ctx(driver(night)), undefined, {}, at('2025-03-10T03:00:00Z'))).toBe(true);
    expect(driverOnShift(ctx(driver(night)), undefined, {}, at('2025-03-10T09:59:00Z'))).toBe(true);
    expect(driverOnShift(ctx(driver(night)), undefined, {}, at('2025-03-10T10:00:00Z'))).toBe(false);
    expect(driverOnShift(ctx(driver(night)), undefined, {}, at('2025-03-10T16:00:00Z'))).toBe(false);
  });

  it('refuses a driver without a shift, with a malformed one, or with an unknown time zone', () => {
    expect(driverOnShift(ctx(driver(undefined)), undefined, {}, NOW)).toBe(false);
    expect(driverOnShift(ctx(driver({ start: '8:00', end: '17:00', timeZone: 'UTC' })), undefined, {}, NOW)).toBe(false);
    expect(driverOnShift(ctx(driver({ start: '08:00', end: '08:00', timeZone: 'UTC' })), undefined, {}, NOW)).toBe(false);
    expect(driverOnShift(ctx(driver({ start: '08:00', end: '17:00', timeZone: 'Mars/Olympus_Mons' })), undefined, {}, NOW)).toBe(false);
  });

  it('does not constrain a driver admitted by another role it holds, but does when only DRIVER admits it', () => {
    const both = driver(undefined, ['DRIVER', 'DISPATCHER']);
    expect(driverOnShift(ctx(both), undefined, {}, NOW, [['DRIVER', 'DISPATCHER']])).toBe(true);
    expect(driverOnShift(ctx(both), undefined, {}, NOW, [['DRIVER', 'TENANT_ADMIN']])).toBe(false);
  });

  it('exposes the window check on its own (24:00 as an end)', () => {
    expect(withinShift(at('2025-03-10T23:30:00Z'), { start: '20:00', end: '24:00', timeZone: 'UTC' })).toBe(true);
    expect(withinShift(at('2025-03-10T00:30:00Z'), { start: '20:00', end: '24:00', timeZone: 'UTC' })).toBe(false);
  });
});

describe('subjectAccess', () => {
  const { subjectAccess } = policies;

  it('admits the data subject themself, by argument or by the User object', () => {
    const driver = user({ id: 'u-9', roles: ['DRIVER'] });
    expect(subjectAccess(ctx(driver), undefined, { subjectId: 'u-9' }, NOW)).toBe(true);
    expect(subjectAccess(ctx(driver), { id: 'u-9' }, {}, NOW)).toBe(true);
    expect(subjectAccess(ctx(driver), undefined, { subjectId: 'u-8' }, NOW)).toBe(false);
  });

  it('admits privacy staff for a subject of their tenant, not of another', () => {
    for (const role of ['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT']) {
      expect(subjectAccess(ctx(user({ roles: [role] })), undefined, { subjectId: 'someone' }, NOW)).toBe(true);
      expect(subjectAccess(ctx(user({ roles: [role] })), { subjectId: 's', tenantId: 'tB' }, {}, NOW)).toBe(false);
    }
  });

  it('refuses other roles for someone else', () => {
    for (const role of ['SECURITY_ADMIN', 'DISPATCHER', 'AUDITOR']) {
      expect(subjectAccess(ctx(user({ roles: [role] })), undefined, { subjectId: 'someone' }, NOW)).toBe(false);
    }
  });

  it('never treats an API client or device as a data subject', () => {
    const client = user({ id: 'subj-1', roles: ['PARTNER'], subjectType: 'client' });
    expect(subjectAccess(ctx(client), undefined, { subjectId: 'subj-1' }, NOW)).toBe(false);
  });
});

describe('recentMfa', () => {
  const { recentMfa } = policies;

  it('admits an MFA login within 15 minutes', () => {
    expect(recentMfa(ctx(user({ amr: ['pwd', 'otp'], authTime: nowSeconds - 14 * 60 })), undefined, {}, NOW)).toBe(true);
    expect(recentMfa(ctx(user({ amr: ['hwk'], authTime: nowSeconds })), undefined, {}, NOW)).toBe(true);
  });

  it('asks for MFA when amr shows no second factor', () => {
    expect(recentMfa(ctx(user({ amr: ['pwd'], authTime: nowSeconds })), undefined, {}, NOW)).toBe('MFA_REQUIRED');
    expect(recentMfa(ctx(user({ authTime: nowSeconds })), undefined, {}, NOW)).toBe('MFA_REQUIRED');
    expect(recentMfa(ctx(user({ amr: ['pwd', 'sms'], authTime: nowSeconds })), undefined, {}, NOW)).toBe('MFA_REQUIRED');
  });

  it('asks for a step-up when the login is older than the window, missing, or in the future', () => {
    expect(recentMfa(ctx(user({ amr: ['mfa'], authTime: nowSeconds - 15 * 60 - 1 })), undefined, {}, NOW)).toBe('STEP_UP_REQUIRED');
    expect(recentMfa(ctx(user({ amr: ['mfa'] })), undefined, {}, NOW)).toBe('STEP_UP_REQUIRED');
    expect(recentMfa(ctx(user({ amr: ['mfa'], authTime: nowSeconds + 3600 })), undefined, {}, NOW)).toBe('STEP_UP_REQUIRED');
  });

  it('takes the window and the MFA methods from its options', () => {
    const strict = createPolicies({ stepUpWindowSeconds: 60, mfaMethods: ['hwk'] }).recentMfa;
    expect(strict(ctx(user({ amr: ['hwk'], authTime: nowSeconds - 61 })), undefined, {}, NOW)).toBe('STEP_UP_REQUIRED');
    expect(strict(ctx(user({ amr: ['otp'], authTime: nowSeconds })), undefined, {}, NOW)).toBe('MFA_REQUIRED');
    expect(strict(ctx(user({ amr: ['hwk'], authTime: nowSeconds - 59 })), undefined, {}, NOW)).toBe(true);
  });
});

describe('platformOperator', () => {
  it('admits nobody when no operator tenant is configured', () => {
    expect(policies.platformOperator(ctx(user({ tenantId: '' })), undefined, {}, NOW)).toBe(false);
    expect(createPolicies({ operatorTenantId: '' }).platformOperator(ctx(user({ tenantId: '' })), undefined, {}, NOW)).toBe(false);
  });

  it('admits the operator tenant’s people and no one else', () => {
    const { platformOperator } = createPolicies({ operatorTenantId: 'tOps' });
    expect(platformOperator(ctx(user({ tenantId: 'tOps' })), undefined, {}, NOW)).toBe(true);
    expect(platformOperator(ctx(user({ tenantId: 'tA' })), undefined, {}, NOW)).toBe(false);
    expect(platformOperator(ctx(anonymous), undefined, {}, NOW)).toBe(false);
  });
});

describe('platform operator membership', () => {
  test("only the operator tenant's people are operators, not its API clients or devices", () => {
    const { createPolicies } = require('../../lib/policy') as typeof import('../../lib/policy');
    const policies = createPolicies({ operatorTenantId: 'op' });
    const base = { kind: 'user' as const, id: 'x', tenantId: 'op', roles: ['SECURITY_ADMIN'], scopes: [], amr: ['otp'], authTime: Math.floor(Date.now() / 1000) };
    const outcome = (p: object) => policies.platformOperator({ principal: p } as never, {}, {}, new Date());
    expect(outcome({ ...base, subjectType: 'user' })).toBe(true);
    expect(outcome({ ...base, subjectType: 'client' })).toBe(false);
    expect(outcome({ ...base, subjectType: 'device' })).toBe(false);
  });
});
