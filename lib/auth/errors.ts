/**
 * Authentication failures. Every one reaches the client as UNAUTHENTICATED
 * with a fixed message that reveals nothing; `extensions.reason` says which
 * case it was (stable, for clients and tests), the way jose's error classes
 * carry a static `code`.
 */
import { errors as joseErrors } from 'jose';
import { AppError, ErrorCode } from '../errors';

export const AuthReason = {
  /** The token could not be verified: signature, algorithm, issuer, audience, type, key, format. */
  TOKEN_INVALID: 'TOKEN_INVALID',
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  TOKEN_NOT_YET_VALID: 'TOKEN_NOT_YET_VALID',
  /** The user was deprovisioned or suspended, or the API client's contract ended. */
  PRINCIPAL_REVOKED: 'PRINCIPAL_REVOKED',
  /** A subgraph was called without a valid internal token. */
  INTERNAL_TOKEN_REQUIRED: 'INTERNAL_TOKEN_REQUIRED',
  INVALID_CLIENT: 'INVALID_CLIENT',
  INVALID_GRANT: 'INVALID_GRANT',
  LOGIN_FAILED: 'LOGIN_FAILED',
  LOCKED_OUT: 'LOCKED_OUT',
} as const;

export type AuthReasonValue = (typeof AuthReason)[keyof typeof AuthReason];

const MESSAGES: Record<AuthReasonValue, string> = {
  TOKEN_INVALID: 'Invalid token',
  TOKEN_EXPIRED: 'Token expired',
  TOKEN_NOT_YET_VALID: 'Token not yet valid',
  PRINCIPAL_REVOKED: 'Access revoked',
  INTERNAL_TOKEN_REQUIRED: 'Unauthorized',
  INVALID_CLIENT: 'Invalid client credentials',
  INVALID_GRANT: 'Invalid grant',
  LOGIN_FAILED: 'Login failed',
  LOCKED_OUT: 'Too many failed attempts; try again later',
};

export class AuthError extends AppError {
  constructor(readonly reason: AuthReasonValue) {
    super(ErrorCode.UNAUTHENTICATED, MESSAGES[reason], { reason });
  }
}

/** Maps a jose failure (or anything else thrown while verifying) to a fixed AuthError. */
export function toAuthError(err: unknown): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof joseErrors.JWTExpired) return new AuthError(AuthReason.TOKEN_EXPIRED);
  if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'nbf') return new AuthError(AuthReason.TOKEN_NOT_YET_VALID);
  return new AuthError(AuthReason.TOKEN_INVALID);
}
