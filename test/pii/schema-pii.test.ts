/**
 * The PII lint: every field, input field and argument whose name looks
 * personal carries `@pii` (or sits inside a value classified as a whole);
 * every `@pii` coordinate is declared in the storage registry; and the
 * `@pii` coordinates stored unencrypted are exactly the known list below,
 * which field encryption must shrink to nothing.
 */
import { Kind, type DocumentNode, type TypeNode, parse } from 'graphql';
import { SUBGRAPH_NAMES, type SubgraphName, loadSubgraphTypeDefs, readPiiClass } from '../../schema';
import { PII_STORAGE, piiMap } from '../../lib/pii';

// Names that look personal but are not: each with the reason.
const NOT_PERSONAL: Readonly<Record<string, string>> = {
  'Tenant.name': "an organisation's name",
  'CreateTenantInput.name': "an organisation's name",
  'ApiClient.name': "a partner integration's label",
};

// Words of a field name (camelCase and snake_case split, lower-cased) that make it look personal.
const PERSONAL_WORDS = new Set([
  'name', 'names', 'firstname', 'lastname', 'surname', 'fullname',
  'email', 'emails', 'mail', 'phone', 'phones', 'mobile', 'telephone', 'fax',
  'address', 'addresses', 'street', 'line1', 'line2', 'line3', 'postal', 'postcode', 'zip', 'zipcode',
  'notes', 'note', 'geo', 'coordinates', 'coordinate', 'lat', 'latitude', 'lng', 'lon', 'longitude', 'gps',
  'signature', 'photo', 'photos', 'birth', 'birthday', 'birthdate', 'dob', 'passport', 'ssn', 'gender',
]);

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[\s_-]+/)
    .map((w) => w.toLowerCase())
    .filter(Boolean);
}

function looksPersonal(name: string): boolean {
  return words(name).some((w) => PERSONAL_WORDS.has(w)) || PERSONAL_WORDS.has(name.toLowerCase());
}

function namedType(type: TypeNode): string {
  let t: TypeNode = type;
  while (t.kind !== Kind.NAMED_TYPE) t = t.type;
  return t.name.value;
}

interface Slot {
  coordinate: string;
  name: string;
  /** The type that holds it (object, interface or input). */
  owner: string;
  pii: boolean;
  /** Named type of its value. */
  valueType: string;
}

/** Every field, argument and input field of a subgraph's SDL. */
function slots(typeDefs: DocumentNode): Slot[] {
  const found: Slot[] = [];
  for (const def of typeDefs.definitions) {
    if (
      def.kind === Kind.OBJECT_TYPE_DEFINITION ||
      def.kind === Kind.OBJECT_TYPE_EXTENSION ||
      def.kind === Kind.INTERFACE_TYPE_DEFINITION ||
      def.kind === Kind.INTERFACE_TYPE_EXTENSION
    ) {
      for (const field of def.fields ?? []) {
        const coordinate = `${def.name.value}.${field.name.value}`;
        found.push({ coordinate, name: field.name.value, owner: def.name.value, pii: !!readPiiClass(field), valueType: namedType(field.type) });
        for (const arg of field.arguments ?? []) {
          found.push({ coordinate: `${coordinate}(${arg.name.value})`, name: arg.name.value, owner: def.name.value, pii: !!readPiiClass(arg), valueType: namedType(arg.type) });
        }
      }
    } else if (def.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION || def.kind === Kind.INPUT_OBJECT_TYPE_EXTENSION) {
      for (const field of def.fields ?? []) {
        found.push({ coordinate: `${def.name.value}.${field.name.value}`, name: field.name.value, owner: def.name.value, pii: !!readPiiClass(field), valueType: namedType(field.type) });
      }
    }
  }
  return found;
}

/**
 * Types classified as a whole: every field, argument or input field whose
 * value is of that type carries `@pii` (`coordinates: GeoPoint @pii` makes
 * `GeoPoint.latitude` personal without its own directive).
 */
function wholeValueTypes(all: readonly Slot[]): Set<string> {
  const uses = new Map<string, boolean[]>();
  for (const s of all) uses.set(s.valueType, [...(uses.get(s.valueType) ?? []), s.pii]);
  return new Set([...uses].filter(([, pii]) => pii.length > 0 && pii.every(Boolean)).map(([type]) => type));
}

/** Coordinates whose name looks personal, without @pii of their own or of the value that holds them. */
function unmarkedPersonal(all: readonly Slot[]): string[] {
  const whole = wholeValueTypes(all);
  return all.filter((s) => looksPersonal(s.name) && !s.pii && !whole.has(s.owner) && !(s.coordinate in NOT_PERSONAL)).map((s) => s.coordinate);
}

const subgraphs = SUBGRAPH_NAMES.map((name) => ({ name, slots: slots(loadSubgraphTypeDefs(name)) }));

describe('the PII lint', () => {
  test('every field, input field and argument whose name looks personal carries @pii', () => {
    expect(subgraphs.flatMap(({ name, slots: all }) => unmarkedPersonal(all).map((c) => `${name}: ${c}`))).toEqual([]);
  });

  test('finds an unmarked field, input field and argument, and accepts marked ones', () => {
    const sdl = parse(`
      type Customer { id: ID! contactPhone: String homeAddress: String @pii(class: PII) position: Point @pii(class: SENSITIVE) }
      type Point { lat: Float lng: Float }
      input NewCustomer { given_name: String dateOfBirth: String @pii(class: SENSITIVE) }
      type Query { customers(byEmail: String, after: String): [Customer!]! }
    `);
    expect(unmarkedPersonal(slots(sdl))).toEqual(['Customer.contactPhone', 'NewCustomer.given_name', 'Query.customers(byEmail)']);
  });

  test('sees personal-looking names in camelCase, snake_case and compounds, and leaves look-alikes alone', () => {
    for (const name of ['email', 'recipientEmail', 'signerName', 'addressLine1', 'line2', 'postalCode', 'zip_code', 'dateOfBirth', 'dob', 'photoRefs', 'signatureRef', 'geo', 'coordinates', 'latitude', 'lng', 'deliveryNotes', 'phoneNumber', 'streetName']) {
      expect([name, looksPersonal(name)]).toEqual([name, true]);
    }
    for (const name of ['latestEvent', 'latestReading', 'typename', 'serviceLevel', 'status', 'trackingNumber', 'relationship', 'timezone', 'translate', 'longRunning']) {
      expect([name, looksPersonal(name)]).toEqual([name, false]);
    }
  });

  test('classifies a value type as a whole only when every use of it is @pii', () => {
    const whole = wholeValueTypes(subgraphs.find((s) => s.name === 'shipment')!.slots);
    expect(whole.has('GeoPoint')).toBe(true);
    expect(whole.has('GeoPointInput')).toBe(true);
    expect(whole.has('Address')).toBe(false); // origin/destination are not @pii: their lines are, one by one.
  });
});

describe('the storage registry', () => {
  const map = piiMap();

  test('declares where every @pii coordinate is stored (lookup arguments, never stored, are listed below)', () => {
    expect(map.filter((e) => e.storedAt.length === 0).map((e) => `${e.subgraph}: ${e.coordinate}`)).toEqual(EXPECTED_TRANSIENT);
  });

  test('names only coordinates that carry @pii in that subgraph', () => {
    const known = new Set(map.map((e) => `${e.subgraph}: ${e.coordinate}`));
    const stale = Object.entries(PII_STORAGE).flatMap(([subgraph, paths]) =>
      paths.flatMap((p) => p.holds.filter((c) => !known.has(`${subgraph}: ${c}`)).map((c) => `${subgraph}: ${p.collection}.${p.path} holds ${c}`)),
    );
    expect(stale).toEqual([]);
  });

  test('declares each stored path once', () => {
    const paths = Object.values(PII_STORAGE).flatMap((list) => list.map((p) => `${p.subgraph}:${p.collection}.${p.path}`));
    expect(paths.length).toBe(new Set(paths).size);
    for (const [subgraph, list] of Object.entries(PII_STORAGE) as [SubgraphName, typeof PII_STORAGE[SubgraphName]][]) {
      expect(list.every((p) => p.subgraph === subgraph)).toBe(true);
    }
  });
});

describe('encryption at rest', () => {
  // Every stored @pii value is an envelope (test/pii/storage-encrypted.test.ts reads them back raw). What is not
  // stored at all — a lookup argument — has no storage to encrypt and must not claim any.
  test('every @pii coordinate that is stored is encrypted at rest', () => {
    const unencrypted = piiMap()
      .filter((e) => e.storedAt.length > 0 && !e.encryptedAtRest)
      .map((e) => `${e.subgraph}: ${e.coordinate}`);
    expect(unencrypted).toEqual([]);
  });

  test('the @pii coordinates with no storage are exactly the lookup arguments that are never stored', () => {
    const transient = piiMap()
      .filter((e) => e.storedAt.length === 0)
      .map((e) => `${e.subgraph}: ${e.coordinate}`)
      .sort();
    expect(transient).toEqual(EXPECTED_TRANSIENT);
  });
});

// Arguments compared against stored values and then dropped. A new @pii coordinate without storage fails here
// until it is either declared in lib/pii/storage.ts (and encrypted) or listed as transient.
const EXPECTED_TRANSIENT: string[] = ['shipment: Query.shipmentsByRecipientContact(email)', 'shipment: Query.shipmentsByRecipientContact(phone)'];
