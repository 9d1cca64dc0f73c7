/**
 * Authorization refusals. Fixed messages that never say which rule refused:
 * the code is the whole answer. UNAUTHENTICATED and FORBIDDEN come from
 * lib/errors.ts; MFA_REQUIRED and STEP_UP_REQUIRED are the two cases a
 * client can fix itself (sign in again with a second factor), so they are
 * the only ones that say more than "Forbidden".
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../errors';

/** Codes an authorization refusal carries in `extensions.code`. */
export const RefusalCode = {
  UNAUTHENTICATED: ErrorCode.UNAUTHENTICATED,
  FORBIDDEN: ErrorCode.FORBIDDEN,
  /** The action needs a second factor in the login (`amr`): sign in with MFA. */
  MFA_REQUIRED: 'MFA_REQUIRED',
  /** The login (`auth_time`) is older than the step-up window: authenticate again. */
  STEP_UP_REQUIRED: 'STEP_UP_REQUIRED',
} as const;

export type RefusalCodeValue = (typeof RefusalCode)[keyof typeof RefusalCode];

const MESSAGES: Record<RefusalCodeValue, string> = {
  UNAUTHENTICATED: 'Authentication required',
  FORBIDDEN: 'Forbidden',
  MFA_REQUIRED: 'Multi-factor authentication required',
  STEP_UP_REQUIRED: 'Recent authentication required',
};

/** One authorization refusal: `extensions.code` is its only detail. */
export class AccessDeniedError extends GraphQLError {
  /** `extra` is for transport hints such as Apollo's `http`; it never names the rule that refused. */
  constructor(
    readonly code: RefusalCodeValue,
    extra: Record<string, unknown> = {},
  ) {
    super(MESSAGES[code], { extensions: { ...extra, code } });
  }
}

/** A fresh refusal error (GraphQLError instances carry a path, so never share one between fields). */
export function refusal(code: RefusalCodeValue): AccessDeniedError {
  return new AccessDeniedError(code);
}
