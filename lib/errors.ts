/**
 * Errors the platform raises on purpose, each with a stable code in
 * `extensions.code`. Clients and tests branch on the code, never on the
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
]);

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

/**
 * Apollo `formatError`: errors with a public code pass (without stack traces
 * outside development); everything else becomes "Internal server error" with
 * the request id, so a client can quote it and we can find the log line.
 */
export function createFormatError(appEnv: AppEnv) {
  return (formatted: GraphQLFormattedError): GraphQLFormattedError => {
    const code = String(formatted.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR);
    if (appEnv === 'development') return formatted;
    const { stacktrace: _stack, exception: _exception, ...ext } = formatted.extensions ?? {};
    if (PUBLIC_CODES.has(code)) return { ...formatted, extensions: { ...ext, code } };
    return { message: 'Internal server error', path: formatted.path, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
  };
}
