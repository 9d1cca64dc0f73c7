/**
 * The value scrubber of log redaction: masks personal data in free text and
 * censors sensitive keys in structured values, for what pino's path-based
 * `redact` cannot see — messages, error messages and stacks, strings that
 * echo a value (`got invalid value …`, `dup key: { … }`), `key: "value"`
 * pairs inside text, and keys nested deeper than the generated paths.
 *
 * Text rules, in order: value echoes of GraphQL, MongoDB and mongoose
 * errors; `key: value` / `"key":"value"` / `key=value` for a sensitive key;
 * email addresses; card-like numbers (Luhn-valid, 13–19 digits); phone-like
 * numbers (7–15 digits after `+`, 9–15 otherwise; dates, IPv4 addresses and
 * decimals are left alone). Regexes are compiled once per scrubber.
 */

/** What replaces a censored value. */
export const CENSOR = '[redacted]';

export interface ScrubberOptions {
  /** Keys whose values are censored wherever they appear (compared case-, `_`- and `-`-insensitively). */
  readonly keys: Iterable<string>;
  /** Nesting below which values are replaced by `[depth]`. @default 8 */
  readonly maxDepth?: number;
  /** Values visited per call before the rest is replaced by `[truncated]`. @default 1000 */
  readonly maxNodes?: number;
  /** Longer strings are cut to this many characters (then scrubbed). @default 32768 */
  readonly maxStringLength?: number;
}

export interface Scrubber {
  /** Free text with personal data masked. */
  text(value: string): string;
  /**
   * A copy of `value` safe to log: strings scrubbed, sensitive keys censored
   * at any depth, errors turned into `{ type, message, stack, … }`, binary
   * data and cycles replaced by markers. Never mutates `value`.
   */
  value(value: unknown): unknown;
  /** True when `key` is censored. */
  isSensitiveKey(key: string): boolean;
}

// As normaliseLogKey in redaction.ts (which imports this file).
const normaliseKey = (key: string): string => key.toLowerCase().replace(/[_-]/g, '');

const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}/gu;
const CARD = /(?<![\w.+-])(?:\d[ -]?){12,18}\d(?![\w-])/g;
const PHONE = /(?<![\w+./:-])\+?\(?\d[\d ().-]{5,}\d(?![\w/:-]|\.\d)/g;
const DATE = /\d{4}-\d{2}-\d{2}/;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const DECIMAL = /^\d+\.\d+$/;
// Errors that print the offending value: GraphQL variable and literal coercion, MongoDB duplicate keys, mongoose casts and validators.
const VALUE_ECHOES: readonly RegExp[] = [
  /(\bgot invalid value )(.+?)(?=; | at "|$)/gms,
  /(\bdup key: )(\{.*?\})/gs,
  /(\bfor value )("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\S+)/g,
  /(\bcannot represent [\w -]*?value: )(.+?)(?=; |$)/gim,
  /(\bExpected value of type "[^"]*", found )(.+?)(?=; |$)/gm,
  // mongoose validators: "Path `notes` (`…`) is longer than …", "`…` is not a valid enum value for path `x`".
  /(\bPath `[^`]*` \()(.*?)(?=\) is )/gs,
  /()`[^`]*`(?= is not a valid enum value)/g,
];
// Cheap test first: most text echoes nothing.
const MAY_ECHO = /invalid value|dup key|for value |value: |, found |Path `|not a valid enum/i;
// Where a stack's frames start: they name code locations, only the message before them is scrubbed.
const STACK_FRAMES = /\n\s+at /;

/** Builds a scrubber censoring `options.keys`. */
export function createScrubber(options: ScrubberOptions): Scrubber {
  const maxDepth = options.maxDepth ?? 8;
  const maxNodes = options.maxNodes ?? 1000;
  const maxStringLength = options.maxStringLength ?? 32_768;
  const keys = [...new Set([...options.keys].map(normaliseKey))];
  const sensitive = new Set(keys);
  const keyAlternatives = [...new Set([...options.keys])]
    .sort((a, b) => b.length - a.length)
    .map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|');
  // `key: value`, `"key": "value"`, `key=value`, also JSON-escaped (`\"key\":\"value\"`); the value is a quoted string, an object, a list or a bare word.
  const keyValue = keyAlternatives
    ? new RegExp(
        `((\\\\?["']?)\\b(?:${keyAlternatives})\\b\\2\\s*[:=]\\s*)(\\\\?"(?:[^"\\\\]|\\\\.)*?\\\\?"|'(?:[^'\\\\]|\\\\.)*'|\\{[^{}]*\\}|\\[[^\\[\\]]*\\]|[^\\s,;&}\\])]+)`,
        'gi',
      )
    : undefined;

  const text = (input: string): string => {
    let s = input.length > maxStringLength ? `${input.slice(0, maxStringLength)}…[truncated]` : input;
    if (MAY_ECHO.test(s)) for (const echo of VALUE_ECHOES) s = s.replace(echo, `$1${CENSOR}`);
    if (keyValue && /[:=]/.test(s)) s = s.replace(keyValue, `$1${CENSOR}`);
    if (s.includes('@')) s = s.replace(EMAIL, '[email]');
    if (!/\d{7}|\d[ ().-]\d/.test(s)) return s;
    s = s.replace(CARD, (m) => (luhn(m.replace(/\D/g, '')) ? '[card]' : m));
    return s.replace(PHONE, (m) => (looksLikePhone(m) ? '[phone]' : m));
  };

  const isSensitiveKey = (key: string): boolean => sensitive.has(normaliseKey(key));

  // The message part of a stack (it repeats the error message) is scrubbed; the frames are kept as they are.
  const stack = (value: string): string => {
    const frames = STACK_FRAMES.exec(value);
    return frames ? text(value.slice(0, frames.index)) + value.slice(frames.index) : text(value);
  };

  const value = (root: unknown): unknown => {
    let nodes = 0;
    const ancestors = new Set<object>();
    const walk = (v: unknown, depth: number): unknown => {
      if (++nodes > maxNodes) return '[truncated]';
      switch (typeof v) {
        case 'string':
          return text(v);
        case 'number':
        case 'boolean':
        case 'undefined':
          return v;
        case 'bigint':
          return v.toString();
        case 'symbol':
        case 'function':
          return undefined;
        default:
          break;
      }
      if (v === null) return null;
      const obj = v as object;
      if (obj instanceof Date) return obj;
      if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) return '[binary]';
      if (depth >= maxDepth) return '[depth]';
      if (ancestors.has(obj)) return '[circular]';
      ancestors.add(obj);
      try {
        if (obj instanceof Error) return error(obj, depth);
        if (Array.isArray(obj)) return obj.map((item) => walk(item, depth + 1));
        const toJSON = (obj as { toJSON?: unknown }).toJSON;
        if (typeof toJSON === 'function') {
          const json: unknown = toJSON.call(obj);
          return json === obj ? fields(obj, depth) : walk(json, depth);
        }
        return fields(obj, depth);
      } finally {
        ancestors.delete(obj);
      }
    };
    const fields = (obj: object, depth: number): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(obj)) {
        out[key] = isSensitiveKey(key) ? CENSOR : walk((obj as Record<string, unknown>)[key], depth + 1);
      }
      return out;
    };
    // Like pino's err serializer (type, message, stack, own enumerable properties), scrubbed.
    const error = (err: Error, depth: number): Record<string, unknown> => {
      const out: Record<string, unknown> = {
        type: err.constructor?.name && err.constructor.name !== 'Object' ? err.constructor.name : err.name,
        message: text(String(err.message)),
      };
      if (typeof err.stack === 'string') out.stack = stack(err.stack);
      for (const key of Object.keys(err)) {
        if (key === 'name' || key === 'message' || key === 'stack') continue;
        out[key] = isSensitiveKey(key) ? CENSOR : walk((err as unknown as Record<string, unknown>)[key], depth + 1);
      }
      if (err.cause !== undefined && !('cause' in out)) out.cause = walk(err.cause, depth + 1);
      return out;
    };
    return walk(root, 0);
  };

  return { text, value, isSensitiveKey };
}

function looksLikePhone(match: string): boolean {
  const digits = match.replace(/\D/g, '').length;
  if (digits > 15 || digits < (match.startsWith('+') ? 7 : 9)) return false;
  return !DATE.test(match) && !IPV4.test(match) && !DECIMAL.test(match);
}

function luhn(digits: string): boolean {
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
