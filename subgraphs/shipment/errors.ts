/**
 * Errors the shipment subgraph raises on purpose. Each uses a shared code
 * (`extensions.code`) and names the precise case in `extensions.reason`.
 * Messages are fixed and never echo input: tracking numbers are linkable
 * and most inputs hold personal data.
 */
import { AppError, BadUserInputError, ConflictError, ErrorCode, NotFoundError } from '../../lib/errors';

/** No verified caller: every field except `trackShipment` needs one. */
export class UnauthenticatedError extends AppError {
  static readonly reason = 'UNAUTHENTICATED';
  constructor() {
    super(ErrorCode.UNAUTHENTICATED, 'Authentication required');
  }
}

/** Shipments belong to a tenant, and only a user principal carries one. */
export class TenantRequiredError extends BadUserInputError {
  static readonly reason = 'TENANT_REQUIRED';
  constructor() {
    super('This operation needs a caller acting for a tenant', { reason: TenantRequiredError.reason });
  }
}

/** An input field failed validation; `field` is its path in the input. */
export class InvalidInputError extends BadUserInputError {
  static readonly reason = 'INVALID_INPUT';
  constructor(field: string, problem: string) {
    super(`${field} ${problem}`, { reason: InvalidInputError.reason, field });
  }
}

/** The shipment does not exist or belongs to another tenant: both answer the same. */
export class ShipmentNotFoundError extends NotFoundError {
  static readonly reason = 'SHIPMENT_NOT_FOUND';
  constructor() {
    super('Shipment', { reason: ShipmentNotFoundError.reason });
  }
}

/** The tenant already has a shipment with this carrier and number within the reuse window. */
export class TrackingNumberInUseError extends ConflictError {
  static readonly reason = 'TRACKING_NUMBER_IN_USE';
  constructor(windowDays: number) {
    super(`The tracking number is already used by a shipment of this carrier created in the last ${windowDays} days`, {
      reason: TrackingNumberInUseError.reason,
      field: 'trackingNumber',
    });
  }
}

/** A `clientEventId` repeated with a different payload. */
export class IdempotencyKeyReusedError extends ConflictError {
  static readonly reason = 'IDEMPOTENCY_KEY_REUSED';
  constructor() {
    super('clientEventId was already used for a different event on this shipment', { reason: IdempotencyKeyReusedError.reason, field: 'clientEventId' });
  }
}

/** The shipment kept changing under a write; the caller may retry. */
export class ConcurrentUpdateError extends ConflictError {
  static readonly reason = 'CONCURRENT_UPDATE';
  constructor() {
    super('The shipment changed concurrently; retry the request', { reason: ConcurrentUpdateError.reason });
  }
}
