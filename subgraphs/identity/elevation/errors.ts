/**
 * Errors of just-in-time elevation: shared codes (`extensions.code`), the
 * precise case in `extensions.reason`, fixed messages that never echo the
 * reason text (SENSITIVE) or other input.
 */
import { AppError, BadUserInputError, ErrorCode, NotFoundError } from '../../../lib/errors';

/** No such elevation in the caller's reach (unknown id, another tenant's, or someone else's): one answer for all. */
export class ElevationNotFoundError extends NotFoundError {
  static readonly reason = 'ELEVATION_NOT_FOUND';
  constructor() {
    super('Elevation', { reason: ElevationNotFoundError.reason });
  }
}

/** The requester tried to approve or deny their own request: someone else must decide. */
export class SelfApprovalError extends AppError {
  static readonly reason = 'SELF_APPROVAL';
  constructor() {
    super(ErrorCode.FORBIDDEN, 'An elevation must be decided by someone other than its requester', { reason: SelfApprovalError.reason });
  }
}

/**
 * The approver holds SECURITY_ADMIN only through a session claim the user
 * record does not back (an elevation of their own, or a user no longer
 * active): approving needs a standing SECURITY_ADMIN of the tenant.
 */
export class ApproverNotEligibleError extends AppError {
  static readonly reason = 'APPROVER_NOT_ELIGIBLE';
  constructor() {
    super(ErrorCode.FORBIDDEN, 'Only a standing SECURITY_ADMIN of the tenant may decide elevations', { reason: ApproverNotEligibleError.reason });
  }
}

/** The requester is not an active user of the tenant (elevations are for people). */
export class RequesterNotEligibleError extends AppError {
  static readonly reason = 'REQUESTER_NOT_ELIGIBLE';
  constructor() {
    super(ErrorCode.FORBIDDEN, 'Only an active user of the tenant may request an elevation', { reason: RequesterNotEligibleError.reason });
  }
}

/** Only a PENDING request can be approved or denied; `status` is what it is now. */
export class InvalidTransitionError extends BadUserInputError {
  static readonly reason = 'INVALID_TRANSITION';
  constructor(status: string) {
    super(`A ${status} elevation cannot be decided`, { reason: InvalidTransitionError.reason, status });
  }
}

/** The request waited longer than the approval deadline (24 h); ask again. */
export class RequestStaleError extends BadUserInputError {
  static readonly reason = 'REQUEST_STALE';
  constructor() {
    super('The elevation request is too old to approve; request again', { reason: RequestStaleError.reason });
  }
}

/** PARTNER and DEVICE belong to API clients and devices: no person is elevated to them. */
export class RoleNotElevatableError extends BadUserInputError {
  static readonly reason = 'ROLE_NOT_ELEVATABLE';
  constructor(role: string) {
    super(`${role} cannot be requested by a person`, { reason: RoleNotElevatableError.reason, field: 'role', role });
  }
}

/** A scope no person role implies (not in the vocabulary). The message does not echo it. */
export class ScopeNotElevatableError extends BadUserInputError {
  static readonly reason = 'SCOPE_NOT_ELEVATABLE';
  constructor() {
    super('scope is not a scope a person can be elevated to', { reason: ScopeNotElevatableError.reason, field: 'scope' });
  }
}
