/**
 * The development login: email, password (scrypt) and TOTP code for an
 * ACTIVE user. Every refusal is the same `login_failed`; the audit record
 * says why. Failures count towards the lockout of the account (by email)
 * and of the IP; failed logins of admins are counted apart. A TOTP code is
 * accepted once: the step is stored with a conditional update, so two
 * concurrent logins with one code cannot both win.
 */
import { trusted } from 'mongoose';
import type { AuditSink } from '../../../lib/audit';
import type { Lockout } from '../../../lib/auth/lockout';
import { scopesForRoles } from '../../../lib/auth/scopes';
import { verifyAgainstDecoy, verifySecret } from '../../../lib/auth/secrets';
import type { TenantPrincipal } from '../../../lib/context';
import { abacAttributesOf } from './abac';
import type { IdentityModels, UserDoc } from '../model';
import { userEmailFilter } from '../service';
import type { CredentialMetrics } from './metrics';
import { checkTotp } from './totp';

export interface LoginDeps {
  models: IdentityModels;
  audit: AuditSink;
  now: () => Date;
  /** Keyed by the normalised email. */
  lockout: Lockout;
  /** Keyed by IP. */
  ipLockout: Lockout;
  metrics: CredentialMetrics;
}

export interface LoginRequest {
  email: string;
  password: string;
  totp: string;
  /** Needed only when the email has accounts in several tenants. */
  tenantId?: string;
  ip: string;
  requestId?: string;
}

export type LoginResult = { ok: true; principal: TenantPrincipal } | { ok: false; error: 'login_failed' } | { ok: false; error: 'locked_out'; retryAfter: number };

const ADMIN_ROLES = ['TENANT_ADMIN', 'SECURITY_ADMIN'];

export class Login {
  constructor(private readonly deps: LoginDeps) {}

  async login(req: LoginRequest): Promise<LoginResult> {
    const email = req.email.normalize('NFC').trim().toLowerCase();
    const accountKey = `user:${email}`;
    const ipKey = `ip:${req.ip}`;
    const retryAfter = Math.max(await this.deps.lockout.retryAfter(accountKey), await this.deps.ipLockout.retryAfter(ipKey));
    if (retryAfter > 0) return { ok: false, error: 'locked_out', retryAfter };

    // Emails are encrypted and indexed per tenant: without a tenant, this development-only login asks each tenant.
    const tenantIds = req.tenantId ? [req.tenantId] : (await this.deps.models.Tenant.find({}, { _id: 1 }).lean<Array<{ _id: string }>>()).map((t) => t._id);
    const filters = email ? await Promise.all(tenantIds.map((t) => userEmailFilter(this.deps.models, t, email))) : [];
    const matches = filters.length ? await this.deps.models.User.find({ $or: filters }).limit(2).lean<UserDoc[]>() : [];
    const user = matches.length === 1 ? matches[0] : undefined;
    const now = this.deps.now();

    const fail = async (reason: string): Promise<LoginResult> => {
      const admin = !!user?.roles.some((r) => ADMIN_ROLES.includes(r));
      this.deps.metrics.increment('failedLogins');
      if (admin) this.deps.metrics.increment('failedAdminLogins');
      const actor = user ? `user:${user._id}` : 'anonymous';
      await this.deps.audit.record({ type: 'auth.login.failed', actor, tenantId: user?.tenantId, requestId: req.requestId, details: { reason, admin } });
      const locked = Math.max(await this.deps.lockout.fail(accountKey), await this.deps.ipLockout.fail(ipKey));
      if (locked) {
        this.deps.metrics.increment('lockouts');
        await this.deps.audit.record({ type: 'auth.lockout', actor, tenantId: user?.tenantId, requestId: req.requestId, details: { kind: 'login', seconds: locked, admin } });
      }
      return { ok: false, error: 'login_failed' };
    };

    if (!user?.passwordHash) {
      await verifyAgainstDecoy(req.password);
      return fail(matches.length > 1 ? 'ambiguous_email' : 'unknown_user');
    }
    if (!(await verifySecret(req.password, user.passwordHash))) return fail('wrong_password');
    if (!user.totpSecret) return fail('no_totp_enrolled');
    const totp = await checkTotp(user.totpSecret, req.totp, now, user.totpLastStep);
    if (!totp.ok) return fail(totp.reason);
    const step = totp.step;
    if (user.status !== 'ACTIVE') return fail(`status_${user.status.toLowerCase()}`);
    const claimed = await this.deps.models.User.updateOne(
      { _id: user._id, $or: [{ totpLastStep: null }, { totpLastStep: trusted({ $lt: step }) }] },
      { $set: { totpLastStep: step, lastLoginAt: now } },
    );
    if (claimed.modifiedCount !== 1) return fail('totp_replayed');

    await this.deps.lockout.clear(accountKey);
    await this.deps.audit.record({ type: 'auth.login.succeeded', actor: `user:${user._id}`, tenantId: user.tenantId, requestId: req.requestId, details: { amr: ['pwd', 'otp', 'mfa'] } });
    const tenant = await this.deps.models.Tenant.findOne({ _id: user.tenantId }, { homeRegion: 1 }).lean<{ homeRegion: TenantPrincipal['region'] }>();
    return {
      ok: true,
      principal: {
        kind: 'user',
        id: user._id,
        tenantId: user.tenantId,
        ...(tenant?.homeRegion ? { region: tenant.homeRegion } : {}),
        roles: [...user.roles],
        scopes: scopesForRoles(user.roles),
        subjectType: 'user',
        ...abacAttributesOf(user),
        amr: ['pwd', 'otp', 'mfa'],
      },
    };
  }
}
