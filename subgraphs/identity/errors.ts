/**
 * Errors the identity subgraph raises on purpose. Each uses a shared code
 * (`extensions.code`) and names the precise case in `extensions.reason`;
 * messages are fixed and never echo input (emails are personal data). The
 * cases every subgraph shares live in lib/errors.ts (no caller, no tenant,
 * a bad representation: raised through lib/caller.ts); the one raised here
 * directly is re-exported.
 */
import { AppError, BadUserInputError, ConflictError, ErrorCode, NotFoundError } from '../../lib/errors';

export { InvalidInputError } from '../../lib/errors';

/** A user may grant SECURITY_ADMIN only when holding it. */
export class SecurityAdminGrantError extends AppError {
  static readonly reason = 'SECURITY_ADMIN_GRANT_DENIED';
  constructor() {
    super(ErrorCode.FORBIDDEN, 'Only a SECURITY_ADMIN may grant SECURITY_ADMIN', { reason: SecurityAdminGrantError.reason });
  }
}

/** Another tenant already has this name (names compare case- and space-insensitively). */
export class TenantNameTakenError extends ConflictError {
  static readonly reason = 'TENANT_NAME_TAKEN';
  constructor() {
    super('A tenant with this name already exists', { reason: TenantNameTakenError.reason, field: 'name' });
  }
}

/** The tenant already has a user with this email. */
export class EmailTakenError extends ConflictError {
  static readonly reason = 'EMAIL_TAKEN';
  constructor() {
    super('A user with this email already exists in the tenant', { reason: EmailTakenError.reason, field: 'email' });
  }
}

/** A role that people cannot hold (PARTNER, DEVICE). */
export class RoleNotGrantableError extends BadUserInputError {
  static readonly reason = 'ROLE_NOT_GRANTABLE';
  constructor(role: string) {
    super(`${role} is not a user role`, { reason: RoleNotGrantableError.reason, field: 'roles', role });
  }
}

/**
 * The tenant does not exist or is not visible to the caller. Both cases
 * answer the same, so the error is no oracle for other tenants' ids.
 */
export class TenantNotFoundError extends NotFoundError {
  static readonly reason = 'TENANT_NOT_FOUND';
  constructor() {
    super('Tenant', { reason: TenantNotFoundError.reason });
  }
}

/** The user does not exist or belongs to another tenant: both answer the same. */
export class UserNotFoundError extends NotFoundError {
  static readonly reason = 'USER_NOT_FOUND';
  constructor() {
    super('User', { reason: UserNotFoundError.reason });
  }
}
