/**
 * Errors the privacy subgraph raises on purpose. Each uses a shared code
 * (`extensions.code`) and names the precise case in `extensions.reason`.
 * Messages are fixed and never echo input: subject ids and settings are
 * personal data.
 */
import { AppError, BadUserInputError, ConflictError, ErrorCode, NotFoundError } from '../../lib/errors';

/** No verified caller: every privacy field needs one. */
export class UnauthenticatedError extends AppError {
  static readonly reason = 'UNAUTHENTICATED';
  constructor() {
    super(ErrorCode.UNAUTHENTICATED, 'Authentication required');
  }
}

/** Tenant-owned data needs a tenant, and only a user principal carries one. */
export class TenantRequiredError extends BadUserInputError {
  static readonly reason = 'TENANT_REQUIRED';
  constructor() {
    super('This operation needs a caller acting for a tenant', { reason: TenantRequiredError.reason });
  }
}

/** An input field failed validation. */
export class InvalidInputError extends BadUserInputError {
  static readonly reason = 'INVALID_INPUT';
  constructor(field: string, problem: string) {
    super(`${field} ${problem}`, { reason: InvalidInputError.reason, field });
  }
}

/** An `_entities` representation without a usable id or subject id. */
export class InvalidRepresentationError extends BadUserInputError {
  static readonly reason = 'INVALID_REPRESENTATION';
  constructor(typename: string, field: string) {
    super(`${typename} representation needs a valid ${field}`, { reason: InvalidRepresentationError.reason, typename, field });
  }
}

/** The request's status cannot move from `from` to `to` (finished requests never move; a deadline extends once). */
export class InvalidTransitionError extends BadUserInputError {
  static readonly reason = 'INVALID_TRANSITION';
  constructor(from: string, to: string) {
    super(`A data-subject request cannot move from ${from} to ${to}`, { reason: InvalidTransitionError.reason, from, to });
  }
}

/**
 * The subject must be told of an extension within the first month
 * (GDPR art. 12(3)), so a request past its original deadline cannot be extended.
 */
export class ExtensionTooLateError extends BadUserInputError {
  static readonly reason = 'EXTENSION_TOO_LATE';
  constructor() {
    super('The deadline can only be extended before it has passed', { reason: ExtensionTooLateError.reason });
  }
}

/**
 * The request does not exist or belongs to another tenant. Both answer the
 * same, so the error is no oracle for other tenants' ids.
 */
export class DsrNotFoundError extends NotFoundError {
  static readonly reason = 'DSR_NOT_FOUND';
  constructor() {
    super('Data-subject request', { reason: DsrNotFoundError.reason });
  }
}

/** Someone else changed the request between our read and our write; retry with fresh data. */
export class ConcurrentUpdateError extends ConflictError {
  static readonly reason = 'CONCURRENT_UPDATE';
  constructor() {
    super('The data-subject request was changed concurrently; try again', { reason: ConcurrentUpdateError.reason });
  }
}
