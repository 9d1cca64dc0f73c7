/**
 * Errors the shipment subgraph raises on purpose. Each uses a shared code
 * (`extensions.code`) and names the precise case in `extensions.reason`.
 * Messages are fixed and never echo input: tracking numbers are linkable
 * and most inputs hold personal data. The cases every subgraph shares live
 * in lib/errors.ts (no caller and no tenant are raised through
 * lib/caller.ts); those raised here directly are re-exported.
 */
import { ConflictError, NotFoundError } from '../../lib/errors';

export { ConcurrentUpdateError, IdempotencyKeyReusedError, InvalidInputError } from '../../lib/errors';

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
