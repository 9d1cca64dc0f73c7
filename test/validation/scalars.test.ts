/**
 * The custom scalars' parsers (lib/validation/scalars.ts): what each takes,
 * what each refuses, with fixed messages that never echo the value, lengths
 * bounded before any pattern runs, and the boot refusal for a scalar the SDL
 * declares without a parser.
 */
import { GraphQLScalarType, Kind, buildSchema, parse, valueFromAST, type ValueNode } from 'graphql';
import { SCALARS, declaredScalars, installScalarValidation, scalarResolversFor } from '../../lib/validation';
import { SUBGRAPH_NAMES, loadSubgraphTypeDefs } from '../../schema';

const value = (name: string, v: unknown) => SCALARS[name].parseValue(v);
const literal = (name: string, source: string) => SCALARS[name].parseLiteral(parse(`{ f(a: ${source}) }`, { noLocation: true }).definitions.flatMap((d) => ('selectionSet' in d ? [d.selectionSet] : []))[0]!.selections.flatMap((s) => ('arguments' in s ? s.arguments ?? [] : []))[0]!.value as ValueNode);

/** The refusal of `fn`, asserting it is a fixed text. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('every scalar of the schema has a parser', () => {
  test.each(SUBGRAPH_NAMES)('%s: scalarResolversFor covers every declared scalar', (name) => {
    const typeDefs = loadSubgraphTypeDefs(name);
    expect(Object.keys(scalarResolversFor(typeDefs)).sort()).toEqual(declaredScalars(typeDefs).sort());
  });

  test('a declared scalar without a parser refuses to boot (it would accept any JSON, objects included)', () => {
    expect(() => scalarResolversFor(parse('scalar JSON scalar DateTime'))).toThrow(/JSON/);
  });
});

describe('valid values', () => {
  test.each<[string, unknown, unknown]>([
    ['EmailAddress', 'ada@northwind.example', 'ada@northwind.example'],
    ['EmailAddress', '  Ada@Northwind.Example ', 'Ada@Northwind.Example'],
    ['PhoneNumber', '+15550100000', '+15550100000'],
    ['CountryCodeAlpha3', 'DEU', 'DEU'],
    ['CountryCodeAlpha3', 'deu', 'DEU'],
    ['CountryCodeAlpha3', 'XKX', 'XKX'],
    ['Currency', 'EUR', 'EUR'],
    ['Currency', 'chf', 'CHF'],
    ['NonNegativeInt', 0, 0],
    ['NonNegativeInt', 9_007_199_254_740_991, 9_007_199_254_740_991],
    ['PositiveInt', 1, 1],
    ['Latitude', -90, -90],
    ['Latitude', 52.520008, 52.520008],
    ['Longitude', 180, 180],
  ])('%s takes %j', (name, input, out) => {
    expect(value(name, input)).toEqual(out);
  });

  test('DateTime takes an ISO-8601 instant with a zone and gives a Date', () => {
    expect(value('DateTime', '2025-03-01T14:05:00Z')).toEqual(new Date('2025-03-01T14:05:00Z'));
    expect(JSON.stringify(SCALARS.DateTime.serialize(new Date('2025-03-01T14:05:00Z')))).toBe('"2025-03-01T14:05:00.000Z"');
  });

  test('literals: strings for string scalars; Int literals for Int scalars; Int or Float literals for coordinates', () => {
    expect(literal('CountryCodeAlpha3', '"nld"')).toBe('NLD');
    expect(literal('PositiveInt', '3')).toBe(3);
    expect(literal('Latitude', '52')).toBe(52);
    expect(literal('Longitude', '13.4')).toBe(13.4);
  });
});

describe('refusals: fixed texts, never the value', () => {
  test.each<[string, unknown]>([
    ['EmailAddress', 'nobody'],
    ['EmailAddress', `${'x'.repeat(65)}@northwind.example`],
    ['EmailAddress', `a@${'x'.repeat(250)}.example`],
    ['PhoneNumber', '0555 123'],
    ['PhoneNumber', '+1 555 0100'],
    ['PhoneNumber', '+0555010000'],
    ['CountryCodeAlpha3', 'DE'],
    ['CountryCodeAlpha3', 'ZZZ'],
    ['CountryCodeAlpha3', 'DEUX'],
    ['Currency', 'EUX'],
    ['Currency', 'EURO'],
    ['NonNegativeInt', -1],
    ['NonNegativeInt', 1.5],
    ['NonNegativeInt', '1'],
    ['PositiveInt', 0],
    ['Latitude', 90.0001],
    ['Latitude', '52.5'],
    ["Latitude", "52° 31' N"],
    ['Longitude', -180.5],
    ['Longitude', Number.NaN],
    ['DateTime', 'yesterday'],
    ['DateTime', '2024-12-31T23:59:59'],
    ['DateTime', `2025-03-01T14:05:00${'0'.repeat(100)}Z`],
  ])('%s refuses %j', (name, input) => {
    const message = refusal(() => value(name, input));
    expect(message).toMatch(/^Expected /);
    if (typeof input === 'string' && input.length > 2) expect(message).not.toContain(input);
  });

  test.each(Object.keys(SCALARS))('%s refuses objects, arrays, booleans and null-ish values (an operator object never passes a scalar)', (name) => {
    for (const v of [{ $ne: null }, { $gt: '' }, ['DEU'], true, undefined]) expect(() => value(name, v)).toThrow(/^Expected /);
  });

  test.each(Object.keys(SCALARS))('%s refuses a literal of the wrong kind', (name) => {
    for (const source of ['{ ne: null }', '[1]', 'true', 'ENUM_VALUE']) expect(() => literal(name, source)).toThrow(/^Expected /);
  });

  test('the length cap runs before the pattern: a 100 000-digit "phone number" is refused at once (graphql-scalars alone backtracks exponentially)', () => {
    const started = performance.now();
    expect(() => value('PhoneNumber', `+1${'1'.repeat(100_000)}x`)).toThrow(/E\.164/);
    expect(() => value('EmailAddress', `${'a'.repeat(1_000_000)}@x.example`)).toThrow(/email address/);
    expect(performance.now() - started).toBeLessThan(50);
  });
});

describe('the gateway installs the same parsers and forwards values as sent', () => {
  const schema = installScalarValidation(
    buildSchema(`scalar EmailAddress scalar CountryCodeAlpha3 scalar Other type Query { f(e: EmailAddress, c: CountryCodeAlpha3, o: Other): Int }`),
  );

  test('valid values pass unchanged (the subgraph normalises, not the gateway)', () => {
    const c = schema.getType('CountryCodeAlpha3') as GraphQLScalarType;
    expect(c.parseValue('deu')).toBe('deu');
    expect(c.parseLiteral({ kind: Kind.STRING, value: 'deu' }, undefined)).toBe('deu');
    expect(valueFromAST({ kind: Kind.STRING, value: ' a@b.example ' }, schema.getType('EmailAddress') as GraphQLScalarType)).toBe(' a@b.example ');
  });

  test('invalid values are refused with the same fixed texts', () => {
    expect(() => (schema.getType('EmailAddress') as GraphQLScalarType).parseValue('nobody')).toThrow(/^Expected an email address/);
    expect(() => (schema.getType('CountryCodeAlpha3') as GraphQLScalarType).parseLiteral({ kind: Kind.STRING, value: 'DE' }, undefined)).toThrow(/alpha-3/);
  });

  test('scalars it does not know keep their default parsers', () => {
    expect((schema.getType('Other') as GraphQLScalarType).parseValue({ any: 'thing' })).toEqual({ any: 'thing' });
  });
});
