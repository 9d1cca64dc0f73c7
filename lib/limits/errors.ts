/**
 * Refusals of the gateway's hardening: each has a stable `extensions.code`
 * (and, where one code covers several limits, a stable `reason`), a fixed
 * message that names no field, type or argument, and only numbers as
 * detail (`limit`, `found`, `cost`). Clients and tests branch on the code.
 *
 * Validation rules cannot set `extensions.code` themselves: Apollo Server
 * rewrites every validation error's code to GRAPHQL_VALIDATION_FAILED. So a
 * rule puts our code in `extensions.validationErrorCode` (where Apollo puts
 * its own INTROSPECTION_DISABLED) and the gateway's `formatError`
 * (gateway/hardening/errors.ts) promotes it to `code`.
 */
import { GraphQLError } from 'graphql';

export const LimitCode = {
  /** Deeper than the depth limit, or an introspection query nesting `fields`/`interfaces`/`possibleTypes` too often. */
  QUERY_TOO_DEEP: 'QUERY_TOO_DEEP',
  /** Too many aliases, directives, tokens or fields in one operation (`reason` says which). */
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  /** The estimated cost (list sizes multiplied) is above the per-operation maximum. */
  COST_LIMIT_EXCEEDED: 'COST_LIMIT_EXCEEDED',
  /** The client spent its cost budget for this minute; HTTP 429 with `Retry-After`. */
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  /** `__schema` / `__type` where introspection is off (production; staging without an admin token). */
  INTROSPECTION_DISABLED: 'INTROSPECTION_DISABLED',
  /** A registered app (or a client not on the open list) sent a document that is not one of its trusted documents. */
  TRUSTED_DOCUMENT_REQUIRED: 'TRUSTED_DOCUMENT_REQUIRED',
  /** A registered app sent a `persistedQuery` hash that is not in its manifest. */
  TRUSTED_DOCUMENT_NOT_FOUND: 'TRUSTED_DOCUMENT_NOT_FOUND',
  /** A JSON array of operations while batching is off. */
  BATCHING_DISABLED: 'BATCHING_DISABLED',
  /** A JSON array longer than the configured maximum. */
  BATCH_TOO_LARGE: 'BATCH_TOO_LARGE',
  /** A sensitive root field (credentials, elevation approval) aliased, repeated or batched. */
  SENSITIVE_OPERATION_REFUSED: 'SENSITIVE_OPERATION_REFUSED',
  /** Apollo's CSRF prevention: a simple request (no preflight) without `apollo-require-preflight` or `x-apollo-operation-name`. */
  CSRF_PREVENTED: 'CSRF_PREVENTED',
  /** A mutation sent with GET (HTTP 405). */
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
} as const;

export type LimitCodeValue = (typeof LimitCode)[keyof typeof LimitCode];

/** Which limit a QUERY_TOO_DEEP, QUERY_TOO_COMPLEX or SENSITIVE_OPERATION_REFUSED refusal is about. */
export const LimitReason = {
  MAX_DEPTH: 'MAX_DEPTH',
  INTROSPECTION_DEPTH: 'INTROSPECTION_DEPTH',
  TOO_MANY_ALIASES: 'TOO_MANY_ALIASES',
  TOO_MANY_DIRECTIVES: 'TOO_MANY_DIRECTIVES',
  TOO_MANY_TOKENS: 'TOO_MANY_TOKENS',
  TOO_MANY_FIELDS: 'TOO_MANY_FIELDS',
  ALIASED: 'ALIASED',
  REPEATED: 'REPEATED',
  BATCHED: 'BATCHED',
} as const;

export type LimitReasonValue = (typeof LimitReason)[keyof typeof LimitReason];

/** The fixed message of each code: what a client may read, nothing about the schema. */
export const LIMIT_MESSAGES: Record<LimitCodeValue, string> = {
  QUERY_TOO_DEEP: 'Operation is nested too deeply',
  QUERY_TOO_COMPLEX: 'Operation is too large',
  COST_LIMIT_EXCEEDED: 'Operation cost exceeds the limit',
  QUOTA_EXCEEDED: 'Cost budget exhausted; retry later',
  INTROSPECTION_DISABLED: 'Introspection is disabled',
  TRUSTED_DOCUMENT_REQUIRED: 'Only trusted documents are accepted from this client',
  TRUSTED_DOCUMENT_NOT_FOUND: 'Unknown trusted document',
  BATCHING_DISABLED: 'Batched requests are not accepted',
  BATCH_TOO_LARGE: 'Too many operations in one request',
  SENSITIVE_OPERATION_REFUSED: 'This operation may run only once per request',
  CSRF_PREVENTED: 'Request refused: send a preflighted request (content-type: application/json or an apollo-require-preflight header)',
  METHOD_NOT_ALLOWED: 'Only queries may be sent with GET',
};

/** Detail a refusal may carry: numbers and fixed words only. */
export interface LimitDetail {
  reason?: LimitReasonValue;
  limit?: number;
  found?: number;
  cost?: number;
}

/**
 * A refusal raised outside validation (cost, quota, trusted documents,
 * batching): `extensions.code` is set directly; `http` (status, headers)
 * is Apollo's transport hint and is removed before the client sees it.
 */
export class LimitError extends GraphQLError {
  constructor(
    readonly code: LimitCodeValue,
    detail: LimitDetail & Record<string, unknown> = {},
    http?: { status: number; headers?: Map<string, string> },
  ) {
    super(LIMIT_MESSAGES[code], { extensions: { ...detail, code, ...(http ? { http } : {}) } });
  }
}

/**
 * The error a validation rule reports: the code travels in
 * `validationErrorCode` until `formatError` promotes it (see the header).
 */
export function limitValidationError(code: LimitCodeValue, detail: LimitDetail = {}): GraphQLError {
  return new GraphQLError(LIMIT_MESSAGES[code], { extensions: { ...detail, validationErrorCode: code } });
}
