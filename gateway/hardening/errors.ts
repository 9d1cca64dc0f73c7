/**
 * Error hygiene at the gateway, wrapped around lib/errors.ts's
 * `createFormatError`:
 *
 * - refusals get their stable code: our validation rules' and Apollo's
 *   `validationErrorCode` (INTROSPECTION_DISABLED …) is promoted to `code`,
 *   and the refusals graphql-js and Apollo raise with fixed texts (token
 *   limit, introspection depth, batching, CSRF, GET mutations) are
 *   recognised by that text and recoded; each leaves with our fixed
 *   message and numbers only;
 * - outside development, "Did you mean …" never leaves the gateway;
 * - in production, validation errors and variable-coercion errors become a
 *   generic message and their code (no field, type or argument name —
 *   clairvoyance rebuilds schemas from those), and debug keys
 *   (`stacktrace`, `exception`, `serviceName` …) are dropped. The request
 *   id is stamped later by lib/apollo-plugins.ts.
 */
import type { GraphQLFormattedError } from 'graphql';
import type { AppEnv } from '../../lib/config';
import { LIMIT_MESSAGES, LimitCode, type LimitCodeValue, LimitReason } from '../../lib/limits';

export type FormatError = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

const OUR_CODES = new Set<string>(Object.values(LimitCode));

/** Extension keys a refusal may carry to the client (numbers and fixed words). */
const DETAIL_KEYS = ['reason', 'limit', 'found', 'cost', 'budget', 'remaining', 'retryAfterSeconds'] as const;

/** Never shown in production: they describe our internals or the client's own input back. */
const DEBUG_KEYS = ['stacktrace', 'exception', 'tracing', 'debug', 'serviceName', 'query', 'variables', 'validationErrorCode'];

/** Generic texts for masked errors in production. */
export const MASKED_MESSAGES = {
  GRAPHQL_VALIDATION_FAILED: 'Operation failed validation',
  BAD_USER_INPUT: 'Invalid variables',
} as const;

const SUGGESTION = /\s*Did you mean[^?]*\?/g;

/** `message` without "Did you mean …?" hints. */
export function stripSuggestions(message: string): string {
  return message.replace(SUGGESTION, '').trim();
}

interface Recoded {
  code: LimitCodeValue;
  detail: Record<string, unknown>;
}

/** Our code for an error Apollo or graphql-js raised with a fixed text, if it is one of ours. */
function recode(formatted: GraphQLFormattedError): Recoded | undefined {
  const ext = formatted.extensions ?? {};
  const code = String(ext.code ?? '');
  const validationCode = ext.validationErrorCode;
  if (typeof validationCode === 'string' && OUR_CODES.has(validationCode)) return { code: validationCode as LimitCodeValue, detail: ext };
  const msg = formatted.message;
  if (code === 'GRAPHQL_VALIDATION_FAILED' && msg.startsWith('Maximum introspection depth exceeded')) return { code: LimitCode.QUERY_TOO_DEEP, detail: { reason: LimitReason.INTROSPECTION_DEPTH } };
  if (code === 'GRAPHQL_PARSE_FAILED') {
    const m = /Document contains more tha[nt] (\d+) tokens/.exec(msg);
    if (m) return { code: LimitCode.QUERY_TOO_COMPLEX, detail: { reason: LimitReason.TOO_MANY_TOKENS, limit: Number(m[1]) } };
  }
  if (code === 'BAD_REQUEST') {
    if (msg.startsWith('Operation batching disabled')) return { code: LimitCode.BATCHING_DISABLED, detail: {} };
    if (msg.includes('Cross-Site Request Forgery')) return { code: LimitCode.CSRF_PREVENTED, detail: {} };
    if (msg.startsWith('GET requests only support query operations')) return { code: LimitCode.METHOD_NOT_ALLOWED, detail: {} };
  }
  if (OUR_CODES.has(code)) return { code: code as LimitCodeValue, detail: ext };
  return undefined;
}

function pickDetail(detail: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of DETAIL_KEYS) if (detail[k] !== undefined) out[k] = detail[k];
  return out;
}

function withoutDebugKeys(formatted: GraphQLFormattedError): GraphQLFormattedError {
  if (!formatted.extensions) return formatted;
  const ext = { ...formatted.extensions };
  for (const k of DEBUG_KEYS) delete ext[k];
  return { ...formatted, extensions: ext };
}

/**
 * Apollo `formatError` for the gateway: our refusals first, then `inner`
 * (lib/errors.ts: public codes pass, the rest is masked outside
 * development), then suggestions and, in production, schema names out.
 */
export function hardenedFormatError(appEnv: AppEnv, inner: FormatError): FormatError {
  return (formatted, error) => {
    const ours = recode(formatted);
    if (ours) {
      const locations = appEnv === 'development' && formatted.locations ? { locations: formatted.locations } : {};
      return { message: LIMIT_MESSAGES[ours.code], ...locations, extensions: { code: ours.code, ...pickDetail(ours.detail) } };
    }
    const code = String(formatted.extensions?.code ?? '');
    if (appEnv === 'production') {
      if (code === 'GRAPHQL_VALIDATION_FAILED') return { message: MASKED_MESSAGES.GRAPHQL_VALIDATION_FAILED, extensions: { code } };
      // Apollo's variable coercion errors name the variable's type and may suggest enum values.
      if (code === 'BAD_USER_INPUT' && formatted.message.startsWith('Variable "$')) return { message: MASKED_MESSAGES.BAD_USER_INPUT, extensions: { code } };
    }
    const out = inner(formatted, error);
    if (appEnv === 'development') return out;
    const clean = { ...out, message: stripSuggestions(out.message) };
    return appEnv === 'production' ? withoutDebugKeys(clean) : clean;
  };
}
