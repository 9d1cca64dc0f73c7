/**
 * The input rules of the SDL, checked on every subgraph as it is built:
 * every free-text input has a maximum length (stated in its description,
 * which is all a client sees), typed values use their scalar, and closed
 * sets are enums — a code-like string input must be listed below as an open
 * set, with the reason.
 */
import { buildSubgraphSchema } from '@apollo/subgraph';
import { isEnumType, type GraphQLSchema } from 'graphql';
import { inputPositions, readLength } from '../../lib/validation';
import { SUBGRAPH_NAMES, loadSubgraphTypeDefs } from '../../schema';

const schemas: Array<[string, GraphQLSchema]> = SUBGRAPH_NAMES.map((name) => [name, buildSubgraphSchema(loadSubgraphTypeDefs(name))]);

/** Positions by coordinate, across subgraphs (a position in two subgraphs is one position). */
const positions = new Map<string, { coordinate: string; typeName: string; limit: ReturnType<typeof readLength>; description: string; enum: boolean }>();
for (const [, schema] of schemas) {
  for (const p of inputPositions(schema)) {
    const [typeName, rest] = p.coordinate.split('.');
    const type = schema.getType(typeName) as any;
    const description: string = rest.includes('(')
      ? (type.getFields()[rest.slice(0, rest.indexOf('('))].args.find((a: any) => `${a.name}:)` === rest.slice(rest.indexOf('(') + 1)).description ?? '')
      : (type.getFields()[rest].description ?? '');
    positions.set(p.coordinate, { ...p, description, enum: isEnumType(schema.getType(p.typeName)) });
  }
}
const all = [...positions.values()];

/** Names that carry a typed value, and the scalar they must use. */
const TYPED: Array<[RegExp, string]> = [
  [/\.email(\(|$)/i, 'EmailAddress'],
  [/\.phone(\(|$)/i, 'PhoneNumber'],
  [/\.(countryIso3|countryOfOrigin)(\(|$)/, 'CountryCodeAlpha3'],
  [/\.currency(\(|$)/, 'Currency'],
  [/\.latitude(\(|$)/, 'Latitude'],
  [/\.longitude(\(|$)/, 'Longitude'],
  [/\.(weightGrams|declaredValue)(\(|$)/, 'NonNegativeInt'],
  [/\.([a-z]+Mm|durationMinutes)(\(|$)/, 'PositiveInt'],
  [/(At|After|Before)(\(|:\)|$)/, 'DateTime'],
];

/**
 * String inputs whose name looks like a code from a closed vocabulary but
 * whose set is open, each with the reason. Anything else code-like must be
 * an enum.
 */
const OPEN_SETS: Readonly<Record<string, string>> = {
  'ShipmentFilter.carrier': 'carriers are an open set (any carrier a tenant works with)',
  'CreateShipmentInput.carrier': 'carriers are an open set',
  'CreateShipmentInput.serviceLevel': "each carrier names its own service levels",
  'UpdateShipmentDetailsInput.serviceLevel': "each carrier names its own service levels",
  'SubStatusInput.code': "carriers' sub-status codes (AfterShip subtags, Shippo substatus) differ per carrier",
  'RecordTrackingEventInput.rawCarrierCode': "the carrier's own code, kept unchanged by definition",
  'RecordTrackingEventInput.bizStep': 'GS1 CBV business steps, which EPCIS lets partners extend with their own URIs',
  'RecordTrackingEventInput.disposition': 'GS1 CBV dispositions, extensible like bizStep',
  'ProofOfDeliveryInput.failureReason': 'driver apps and carriers bring their own failure codes; no vocabulary is defined yet (candidate enum)',
  'ProofOfDeliveryInput.signerRelationship': 'no vocabulary is defined yet (RECIPIENT, NEIGHBOUR, RECEPTION … in use; candidate enum)',
  'RequestElevationInput.scope': 'a closed set (the scopes person roles imply) checked by the service, but scope names such as `users:write` are not valid enum values',
};
const CODE_LIKE = /\.(\w*(code|carrier|level|reason|relationship|step|disposition|scope|status|kind|type|unit|outcome|source|role|channel)s?)(\(|$)/i;
/** Code-like names that hold no vocabulary at all, each with what they hold. */
const NOT_VOCABULARIES: Readonly<Record<string, string>> = {
  'RequestElevationInput.reason': "a person's own words",
  'Mutation.denyElevation(reason:)': "a person's own words",
  'AddressInput.postalCode': 'a postal code: format varies per country',
  'EventLocationInput.postalCode': 'a postal code',
  'CustomsInput.hsCode': 'a Harmonized System number (6 to 10 digits, format checked by the service)',
  'ParcelInput.barcode': 'an identifier printed on the label',
  'ProofOfDeliveryInput.scannedBarcodes': 'identifiers scanned at the door',
  'RecordSensorReadingInput.parcelBarcode': 'an identifier printed on the label',
};

describe('free-text inputs have a maximum length', () => {
  test('every String argument and input field carries @length (ID values are capped at 128 by lib/validation/length.ts)', () => {
    const missing = all.filter((p) => p.typeName === 'String' && !p.limit).map((p) => p.coordinate);
    expect(missing).toEqual([]);
  });

  test('the limits are sensible: 1 to 16384 characters, min below max', () => {
    for (const p of all.filter((x) => x.limit)) {
      expect(p.limit!.max).toBeGreaterThanOrEqual(1);
      expect(p.limit!.max).toBeLessThanOrEqual(16384);
      if (p.limit!.min !== undefined) expect(p.limit!.min).toBeLessThanOrEqual(p.limit!.max);
    }
  });

  test('the description states the maximum (clients see descriptions, not directives)', () => {
    const unstated = all.filter((p) => p.limit && !(p.description.includes(String(p.limit.max)) && /characters/.test(p.description))).map((p) => p.coordinate);
    expect(unstated).toEqual([]);
  });

  test('@length sits only on String (or list of String) positions', () => {
    expect(all.filter((p) => p.limit && p.typeName !== 'String').map((p) => p.coordinate)).toEqual([]);
  });
});

describe('typed inputs use their scalar', () => {
  test.each(TYPED.map(([re, scalar]) => [scalar, re] as const))('%s wherever the name says so', (scalar, re) => {
    const matching = all.filter((p) => re.test(p.coordinate) && !p.coordinate.startsWith('Query._entities'));
    expect(matching.length).toBeGreaterThan(0);
    expect(matching.filter((p) => p.typeName !== scalar).map((p) => `${p.coordinate}: ${p.typeName}`)).toEqual([]);
  });
});

describe('closed sets are enums', () => {
  test('every code-like String input is either an enum or a listed open set', () => {
    const suspicious = all
      .filter((p) => p.typeName === 'String' && CODE_LIKE.test(p.coordinate))
      .map((p) => p.coordinate)
      .filter((c) => !(c in OPEN_SETS) && !(c in NOT_VOCABULARIES));
    expect(suspicious).toEqual([]);
  });

  test('every listed open set and non-vocabulary still exists (the lists cannot rot)', () => {
    for (const coordinate of [...Object.keys(OPEN_SETS), ...Object.keys(NOT_VOCABULARIES)]) expect(positions.get(coordinate)?.typeName).toBe('String');
  });

  test('statuses, kinds, types, units, outcomes, roles and channels are enums', () => {
    const closedNames = /\.(status|kind|type|unit|outcome|role|roles|homeRegion|notificationChannels)(\(|:\)|$)/;
    const notEnum = all.filter((p) => closedNames.test(p.coordinate) && !p.enum).map((p) => `${p.coordinate}: ${p.typeName}`);
    expect(notEnum).toEqual([]);
  });
});
