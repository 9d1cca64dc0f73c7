/**
 * The custom scalars of the schema, one parser each, shared by every
 * subgraph (lib/subgraph.ts merges the ones a subgraph's SDL declares) and
 * by the gateway (gateway.ts validates with the same parsers, before any
 * subgraph is called).
 *
 * Each scalar wraps graphql-scalars where it has one and adds three things:
 * - a maximum length, checked before any pattern runs: graphql-scalars'
 *   PhoneNumber pattern backtracks exponentially on long input, and no
 *   string scalar needs more than a few hundred characters;
 * - a fixed refusal text that never echoes the value (most of these values
 *   are personal data; graphql-scalars puts the value in its messages);
 * - JSON types as strict as GraphQL's own `Int` and `Float`: a number
 *   scalar takes a JSON number (or an Int/Float literal), never a string.
 *
 * The SDL declares each scalar with its description and `@specifiedBy`;
 * the parsers here carry only `serialize`, `parseValue` and `parseLiteral`,
 * so the SDL's description is what clients read.
 */
import { GraphQLError, Kind, type DocumentNode, type ValueNode } from 'graphql';
import {
  CurrencyResolver,
  DateTimeResolver,
  EmailAddressResolver,
  LatitudeResolver,
  LongitudeResolver,
  NonNegativeIntResolver,
  PhoneNumberResolver,
  PositiveIntResolver,
} from 'graphql-scalars';
import { ISO3166_ALPHA3 } from './countries';

/** What a scalar contributes to a resolver map: the three functions of a `GraphQLScalarType`. */
export interface ScalarParser {
  serialize(value: unknown): unknown;
  parseValue(value: unknown): unknown;
  parseLiteral(ast: ValueNode): unknown;
}

type JsonKind = 'string' | 'int' | 'float';

interface ScalarSpec {
  /** The refusal text: what was expected, never what was sent. */
  expected: string;
  /** The JSON type a variable must have (`int` and `float` take JSON numbers, literals of kind INT, or FLOAT too for `float`). */
  kind: JsonKind;
  /** Longest string accepted, checked before any pattern runs (string scalars only). */
  maxLength?: number;
  /** Validates and converts a value of the right JSON type; throws (any error) to refuse. */
  parse(value: string | number): unknown;
  /** How output values are written. @default `parse` (the scalar validates its output too) */
  serialize?(value: unknown): unknown;
}

const E164 = /^\+[1-9]\d{6,14}$/;

function refuse(spec: ScalarSpec, ast?: ValueNode): never {
  throw new GraphQLError(spec.expected, ast ? { nodes: ast } : undefined);
}

function typed(spec: ScalarSpec, value: unknown): string | number | undefined {
  if (spec.kind === 'string') return typeof value === 'string' && value.length <= (spec.maxLength ?? Infinity) ? value : undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  return spec.kind === 'int' && !Number.isInteger(value) ? undefined : value;
}

function literal(spec: ScalarSpec, ast: ValueNode): string | number | undefined {
  if (spec.kind === 'string') return ast.kind === Kind.STRING ? typed(spec, ast.value) : undefined;
  if (ast.kind === Kind.INT) return Number(ast.value);
  if (ast.kind === Kind.FLOAT && spec.kind === 'float') return Number(ast.value);
  return undefined;
}

/** The three functions of a scalar from its spec: type and length first, then the pattern, with one fixed refusal text. */
function scalar(spec: ScalarSpec): ScalarParser {
  const parse = (value: string | number | undefined, ast?: ValueNode): unknown => {
    if (value === undefined) refuse(spec, ast);
    try {
      return spec.parse(value);
    } catch {
      return refuse(spec, ast);
    }
  };
  return {
    serialize: spec.serialize ?? ((value) => parse(typed(spec, value))),
    parseValue: (value) => parse(typed(spec, value)),
    parseLiteral: (ast) => parse(literal(spec, ast), ast),
  };
}

/** Longest email address (RFC 5321: 64 for the local part, 254 in all). */
export const MAX_EMAIL_LENGTH = 254;
/** Longest E.164 number: `+` and 15 digits. */
export const MAX_PHONE_LENGTH = 16;
/** Longest ISO-8601 date-time we take (`2025-03-01T14:05:00.123456789+14:00` is 35). */
export const MAX_DATE_TIME_LENGTH = 64;

/**
 * Every custom scalar of the schema, by name. A subgraph whose SDL declares
 * a scalar missing here refuses to boot (`scalarResolversFor`): an unknown
 * scalar would accept any JSON, objects included.
 */
export const SCALARS: Readonly<Record<string, ScalarParser>> = {
  DateTime: scalar({
    expected: 'Expected an ISO-8601 date-time with a time zone, e.g. 2025-03-01T14:05:00Z',
    kind: 'string',
    maxLength: MAX_DATE_TIME_LENGTH,
    parse: (v) => DateTimeResolver.parseValue(v),
    serialize: (v) => DateTimeResolver.serialize(v),
  }),
  EmailAddress: scalar({
    expected: `Expected an email address of at most ${MAX_EMAIL_LENGTH} characters`,
    kind: 'string',
    maxLength: MAX_EMAIL_LENGTH,
    // Surrounding whitespace (a pasted address) is dropped; the service lower-cases.
    parse: (v) => {
      const email = String(v).trim();
      if (email.indexOf('@') > 64) throw new Error('local part too long');
      return EmailAddressResolver.parseValue(email);
    },
  }),
  PhoneNumber: scalar({
    expected: 'Expected a phone number in E.164 format, e.g. +15550100000',
    kind: 'string',
    maxLength: MAX_PHONE_LENGTH,
    // Stricter than graphql-scalars (which also takes spaces, dashes and no `+`): our SDL promises E.164.
    parse: (v) => {
      if (!E164.test(String(v))) throw new Error('not E.164');
      return PhoneNumberResolver.parseValue(v);
    },
  }),
  CountryCodeAlpha3: scalar({
    expected: 'Expected an ISO 3166-1 alpha-3 country code, e.g. DEU',
    kind: 'string',
    maxLength: 3,
    parse: (v) => {
      const code = String(v).toUpperCase();
      if (!ISO3166_ALPHA3.has(code)) throw new Error('unknown country');
      return code;
    },
  }),
  Currency: scalar({
    expected: 'Expected an ISO 4217 currency code, e.g. EUR',
    kind: 'string',
    maxLength: 3,
    parse: (v) => String(CurrencyResolver.parseValue(v)).toUpperCase(),
  }),
  NonNegativeInt: scalar({ expected: 'Expected an integer of 0 or more', kind: 'int', parse: (v) => NonNegativeIntResolver.parseValue(v) }),
  PositiveInt: scalar({ expected: 'Expected an integer of 1 or more', kind: 'int', parse: (v) => PositiveIntResolver.parseValue(v) }),
  // Decimal degrees only: graphql-scalars also takes strings such as `52° 31' N`.
  Latitude: scalar({ expected: 'Expected a latitude in decimal degrees, -90 to 90', kind: 'float', parse: (v) => LatitudeResolver.parseValue(v) }),
  Longitude: scalar({ expected: 'Expected a longitude in decimal degrees, -180 to 180', kind: 'float', parse: (v) => LongitudeResolver.parseValue(v) }),
};

/** The scalar definitions of a document (`scalar X`), by name. */
export function declaredScalars(typeDefs: DocumentNode): string[] {
  return typeDefs.definitions.flatMap((d) => (d.kind === Kind.SCALAR_TYPE_DEFINITION || d.kind === Kind.SCALAR_TYPE_EXTENSION ? [d.name.value] : []));
}

/**
 * The parsers of every scalar `typeDefs` declares, for a subgraph's resolver map.
 * @throws Error naming each declared scalar that has no parser in {@link SCALARS} (the subgraph refuses to boot)
 */
export function scalarResolversFor(typeDefs: DocumentNode): Record<string, ScalarParser> {
  const names = declaredScalars(typeDefs);
  const missing = names.filter((n) => !Object.prototype.hasOwnProperty.call(SCALARS, n));
  if (missing.length) throw new Error(`Scalars without a parser in lib/validation/scalars.ts: ${missing.join(', ')}`);
  return Object.fromEntries(names.map((n) => [n, SCALARS[n]]));
}
