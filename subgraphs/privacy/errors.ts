/**
 * Errors the privacy subgraph raises on purpose. Each uses a shared code
 * (`extensions.code`) and names the precise case in `extensions.reason`.
 * Messages are fixed and never echo input: subject ids and settings are
 * personal data. The cases every subgraph shares live in lib/errors.ts (no
 * caller and no tenant are raised through lib/caller.ts); those raised here
 * directly are re-exported.
 */
import { BadUserInputError, NotFoundError } from '../../lib/errors';

export { ConcurrentUpdateError, InvalidInputError, InvalidRepresentationError } from '../../lib/errors';

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
