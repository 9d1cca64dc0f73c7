/**
 * Errors the device subgraph raises on purpose. Each uses a shared code
 * (NOT_FOUND, BAD_USER_INPUT, CONFLICT, FORBIDDEN, UNAUTHENTICATED) in
 * `extensions.code` and a stable, more specific `extensions.reason`; clients
 * branch on those, never on the message. The cases every subgraph shares
 * live in lib/errors.ts (no caller and no tenant are raised through
 * lib/caller.ts); the one raised here directly is re-exported.
 */
import { AppError, BadUserInputError, ErrorCode, NotFoundError } from '../../lib/errors';

export { IdempotencyKeyReusedError } from '../../lib/errors';

export const DeviceErrorReason = {
  DEVICE_NOT_FOUND: 'DEVICE_NOT_FOUND',
  DEVICE_QUARANTINED: 'DEVICE_QUARANTINED',
  DEVICE_RETIRED: 'DEVICE_RETIRED',
  REPORTER_NOT_ALLOWED: 'REPORTER_NOT_ALLOWED',
  INVALID_READING: 'INVALID_READING',
} as const;

/** The device does not exist in the caller's tenant (another tenant's device looks the same). */
export class DeviceNotFoundError extends NotFoundError {
  constructor() {
    super('device', { reason: DeviceErrorReason.DEVICE_NOT_FOUND });
  }
}

/** The device's status forbids new data: QUARANTINED (not trusted) or RETIRED (out of service). */
export class DeviceRefusedError extends AppError {
  constructor(status: 'QUARANTINED' | 'RETIRED') {
    super(ErrorCode.FORBIDDEN, 'device may not report readings', {
      reason: status === 'QUARANTINED' ? DeviceErrorReason.DEVICE_QUARANTINED : DeviceErrorReason.DEVICE_RETIRED,
    });
  }
}

/** A device principal reporting for a device that is neither itself nor relayed by one of its tenant's gateways. */
export class ReporterNotAllowedError extends AppError {
  constructor() {
    super(ErrorCode.FORBIDDEN, 'this device may not report for that device', { reason: DeviceErrorReason.REPORTER_NOT_ALLOWED });
  }
}

/** The reading is malformed; `argument` names the offending input field. */
export class InvalidReadingError extends BadUserInputError {
  constructor(message: string, argument: string) {
    super(message, { reason: DeviceErrorReason.INVALID_READING, argument });
  }
}
