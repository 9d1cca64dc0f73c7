/**
 * Errors the platform raises on purpose, each with a stable code in
 * `extensions.code` and, for the cases every subgraph shares (no caller, no
 * tenant, bad input or representation, concurrent update, reused
 * idempotency key), a stable `extensions.reason` named by the class's static
 * `reason`. Clients and tests branch on code and reason, never on the
 * message. Anything else that escapes a resolver is an internal error and is
 * masked outside development (see `formatError`).
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { AppEnv } from './config';

export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes whose errors reach clients unmasked: they are raised on purpose and say nothing internal. */
const PUBLIC_CODES = new Set<string>([
  ...Object.values(ErrorCode).filter((c) => c !== ErrorCode.INTERNAL_SERVER_ERROR),
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'MFA_REQUIRED',
  'STEP_UP_REQUIRED',
  // A SENSITIVE reveal without an active just-in-time elevation (lib/reveal.ts): the caller can fix it.
  'ELEVATION_REQUIRED',
  // The tenant's own master key (BYOK) is revoked or missing: only the tenant can bring it back.
  'ENCRYPTION_KEY_UNAVAILABLE',
]);

/** Crypto failures a client is told about, by the crypto layer's code (lib/crypto/errors.ts), with a fixed message. */
const CLIENT_CRYPTO_ERRORS: Record<string, { code: string; message: string }> = {
  MASTER_KEY_UNAVAILABLE: { code: 'ENCRYPTION_KEY_UNAVAILABLE', message: "The tenant's encryption key is unavailable; its data cannot be written or read until the key is restored" },
};

function cryptoCodeOf(error: unknown): string | undefined {
  let e: unknown = error;
  // GraphQLError → originalError → …: the crypto error is where a resolver threw it.
  for (let i = 0; i < 5 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CLIENT_CRYPTO_ERRORS[code] && e instanceof Error && !(e instanceof GraphQLError)) return code;
    e = (e as { originalError?: unknown }).originalError;
  }
  return undefined;
}

export class AppError extends GraphQLError {
  constructor(code: ErrorCodeValue, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extensions, code } });
  }
}

export class BadUserInputError extends AppError {
  constructor(message: string, extensions: Record<string, unknown> = {}) {
    super(ErrorCode.BAD_USER_INPUT, message, extensions);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, extensions: Record<string, unknown> = {}) {
    super(ErrorCode.NOT_FOUND, `${what} not found`, extensions);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, extensions: Record<string, unknown> = {}) {
    super(ErrorCode.CONFLICT, message, extensions);
  }
}

/** No verified caller: the field needs one. Carries no `reason`: the code says it all. */
export class UnauthenticatedError extends AppError {
  static readonly reason = 'UNAUTHENTICATED';
  constructor() {
    super(ErrorCode.UNAUTHENTICATED, 'Authentication required');
  }
}

/** Tenant-owned data needs a tenant, and only a user principal carries one (a system caller does not). */
export class TenantRequiredError extends BadUserInputError {
  static readonly reason = 'TENANT_REQUIRED';
  constructor() {
    super('This operation needs a caller acting for a tenant', { reason: TenantRequiredError.reason });
  }
}

/** An input field failed validation; `field` is its path in the input. The message never echoes the value. */
export class InvalidInputError extends BadUserInputError {
  static readonly reason = 'INVALID_INPUT';
  constructor(field: string, problem: string) {
    super(`${field} ${problem}`, { reason: InvalidInputError.reason, field });
  }
}

/** An `_entities` representation whose `field` is missing or unusable (see `representationField` in lib/caller.ts). */
export class InvalidRepresentationError extends BadUserInputError {
  static readonly reason = 'INVALID_REPRESENTATION';
  constructor(typename: string, field: string) {
    super(`${typename} representation needs a valid ${field}`, { reason: InvalidRepresentationError.reason, typename, field });
  }
}

/** Someone else changed the record (`what`, e.g. "shipment") between our read and our write; the caller may retry. */
export class ConcurrentUpdateError extends ConflictError {
  static readonly reason = 'CONCURRENT_UPDATE';
  constructor(what: string) {
    super(`The ${what} changed concurrently; retry the request`, { reason: ConcurrentUpdateError.reason });
  }
}

/**
 * The idempotency key `key` (e.g. `clientEventId`) was used before with a
 * different payload. `extensions` names the input it came from, in the
 * subgraph's convention (`field` or `argument`).
 */
export class IdempotencyKeyReusedError extends ConflictError {
  static readonly reason = 'IDEMPOTENCY_KEY_REUSED';
  constructor(key: string, extensions: Record<string, unknown> = {}) {
    super(`${key} was already used with a different payload`, { reason: IdempotencyKeyReusedError.reason, ...extensions });
  }
}

/** True for MongoDB's duplicate-key error (E11000): a unique index refused the write. */
export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}

/**
 * Apollo `formatError`: errors with a public code pass (without stack traces
 * outside development); everything else becomes "Internal server error" with
 * the request id, so a client can quote it and we can find the log line.
 */
export function createFormatError(appEnv: AppEnv) {
  return (formatted: GraphQLFormattedError, error?: unknown): GraphQLFormattedError => {
    const crypto = cryptoCodeOf(error);
    if (crypto) return { message: CLIENT_CRYPTO_ERRORS[crypto].message, path: formatted.path, extensions: { code: CLIENT_CRYPTO_ERRORS[crypto].code } };
    const code = String(formatted.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR);
    if (appEnv === 'development') return formatted;
    const { stacktrace: _stack, exception: _exception, ...ext } = formatted.extensions ?? {};
    if (PUBLIC_CODES.has(code)) return { ...formatted, extensions: { ...ext, code } };
    return { message: 'Internal server error', path: formatted.path, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
  };
}
