/**
 * The PII map read from the subgraph SDL: coordinates and kinds, storage
 * (encrypted at rest / blind-indexed from the registry), retention from
 * DOMAIN.md and the roles whose @auth admits reading or sending each value.
 */
import { parse } from 'graphql';
import { RETENTION, buildPiiMap, piiKeys, piiMap, type PiiEntry, type StoredPiiPath } from '../../lib/pii';

const byCoordinate = (entries: readonly PiiEntry[], coordinate: string, subgraph?: string): PiiEntry => {
  const found = entries.filter((e) => e.coordinate === coordinate && (subgraph === undefined || e.subgraph === subgraph));
  if (found.length !== 1) throw new Error(`${coordinate}: ${found.length} entries`);
  return found[0]!;
};

describe('the PII map of the checked-in schema', () => {
  const map = piiMap();

  test('describes an output field completely', () => {
    expect(byCoordinate(map, 'Contact.email')).toEqual({
      coordinate: 'Contact.email',
      class: 'PII',
      subgraph: 'shipment',
      kind: 'output',
      key: 'email',
      encryptedAtRest: true,
      blindIndexed: true,
      storedAt: ['shipments.recipient.email'],
      retention: RETENTION['shipment-record'],
      readRoles: ['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT', 'DISPATCHER', 'DRIVER', 'PARTNER'],
      // Partners read it masked: the reveal capability is for people (lib/pii/masking.ts, REVEALS).
      revealRoles: ['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT', 'DISPATCHER', 'DRIVER'],
      masking: { masker: 'email', reveal: 'shipment' },
      writeRoles: [],
    });
  });

  test('has input fields and arguments, with the roles that may send them', () => {
    expect(byCoordinate(map, 'ContactInput.phone')).toMatchObject({ kind: 'input', key: 'phone', writeRoles: ['TENANT_ADMIN', 'SUPPORT_AGENT', 'DISPATCHER'], readRoles: [], revealRoles: [], masking: null });
    expect(byCoordinate(map, 'Mutation.denyElevation(reason)')).toMatchObject({
      kind: 'argument',
      class: 'SENSITIVE',
      subgraph: 'identity',
      key: 'reason',
      storedAt: ['elevations.denialReason'],
      writeRoles: ['SECURITY_ADMIN'],
    });
    expect(byCoordinate(map, 'ProofOfDeliveryInput.signerName').writeRoles).toEqual(['DISPATCHER', 'DRIVER', 'PARTNER', 'DEVICE']);
  });

  test('narrows read roles by every @auth on the way: type, field and the path that leads there', () => {
    // TrackingEvent is reachable from Shipment (8 roles) and recordTrackingEvent (DEVICE too); coordinates has its own @auth.
    expect(byCoordinate(map, 'TrackingEvent.coordinates').readRoles).toEqual(['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT', 'DISPATCHER']);
    expect(byCoordinate(map, 'EventLocation.postalCode').readRoles).toContain('DEVICE');
    // ProofOfDelivery: Shipment.proofOfDelivery admits AUDITOR but not SECURITY_ADMIN.
    expect(byCoordinate(map, 'ProofOfDelivery.signerName').readRoles).toEqual(['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT', 'DISPATCHER', 'DRIVER', 'AUDITOR', 'PARTNER']);
    // PrivacySettings: through User.privacySettings, Query.privacySettings and Shipment.recipientPrivacy.
    expect(byCoordinate(map, 'PrivacySettings.dataSharing').readRoles).not.toContain('PARTNER');
  });

  test('narrows reveal roles to the read roles holding the reveal capability of the class', () => {
    expect(byCoordinate(map, 'ProofOfDelivery.signerName').revealRoles).toEqual(['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT', 'DISPATCHER', 'DRIVER']);
    expect(byCoordinate(map, 'ProofOfDelivery.geo').revealRoles).toEqual(['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT']);
    // Events of a revealed shipment: the roles of the reveal that also read the field.
    expect(byCoordinate(map, 'EventLocation.postalCode').revealRoles).toEqual(['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT', 'DISPATCHER', 'DRIVER']);
    expect(byCoordinate(map, 'TrackingEvent.coordinates').revealRoles).toEqual(['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT']);
    // No reveal path, only the exemption: nobody else ever reads it unmasked.
    expect(byCoordinate(map, 'Elevation.reason').revealRoles).toEqual([]);
    // Never masked: whoever reads it.
    expect(byCoordinate(map, 'PrivacySettings.dataSharing').revealRoles).toEqual(byCoordinate(map, 'PrivacySettings.dataSharing').readRoles);
  });

  test('takes retention from DOMAIN.md by data class, and leaves undecided what it does not name', () => {
    expect(byCoordinate(map, 'ProofOfDelivery.photoRefs').retention).toEqual({ key: 'pod-images', period: 'P30D', text: expect.any(String) });
    expect(byCoordinate(map, 'ProofOfDeliveryInput.signatureRef').retention.key).toBe('pod-images');
    expect(byCoordinate(map, 'ProofOfDelivery.geo').retention).toEqual({ key: 'raw-gps', period: 'P2M', text: expect.any(String) });
    expect(byCoordinate(map, 'RecordTrackingEventInput.coordinates').retention.key).toBe('raw-gps');
    expect(byCoordinate(map, 'Shipment.deliveryNotes').retention.key).toBe('shipment-record');
    expect(byCoordinate(map, 'User.email').retention).toEqual(RETENTION.unset);
  });

  test('finds personal data in shipment, identity and privacy, none in device', () => {
    expect([...new Set(map.map((e) => e.subgraph))]).toEqual(['shipment', 'identity', 'privacy']);
  });

  test('lists the keys personal values travel under, for log redaction', () => {
    expect(piiKeys()).toEqual(expect.arrayContaining(['email', 'phone', 'name', 'line1', 'line2', 'postalCode', 'deliveryNotes', 'signerName', 'signatureRef', 'photoRefs', 'geo', 'coordinates', 'reason']));
    expect(piiKeys()).toEqual([...piiKeys()].sort());
  });
});

describe('buildPiiMap', () => {
  const typeDefs = parse(`
    enum Role { ADMIN AGENT VIEWER }
    type Person @key(fields: "id") @auth(requires: [ADMIN, AGENT]) {
      id: ID!
      email: String @pii(class: PII)
      phone: String @pii(class: PII) @auth(requires: [ADMIN])
      home: Place
    }
    type Place { street: String @pii(class: PII) city: String }
    input PersonInput { email: String @pii(class: PII) }
    type Query {
      person(id: ID!): Person @auth(requires: [ADMIN, AGENT, VIEWER])
      place: Place @auth(requires: [VIEWER])
      find(email: String @pii(class: PII)): [Person!]! @auth(requires: [AGENT])
    }
    type Mutation { addPerson(input: PersonInput!): Person @auth(requires: [ADMIN]) }
  `);
  const stored = (path: string, holds: string[], encrypted: boolean, blindIndexed = false): StoredPiiPath => ({ subgraph: 'shipment', collection: 'people', path, holds, encrypted, blindIndexed });

  test('an entity is reachable with its type guard; a value type with whatever leads to it', () => {
    const map = buildPiiMap({ typeDefs: { shipment: typeDefs }, storage: {} });
    expect(map.map((e) => [e.coordinate, e.kind, e.readRoles, e.writeRoles])).toEqual([
      ['Person.email', 'output', ['ADMIN', 'AGENT'], []],
      ['Person.phone', 'output', ['ADMIN'], []],
      ['Place.street', 'output', ['ADMIN', 'AGENT', 'VIEWER'], []],
      ['Query.find(email)', 'argument', [], ['AGENT']],
      ['PersonInput.email', 'input', [], ['ADMIN']],
    ]);
  });

  test('is encrypted at rest only when every stored copy is; blind-indexed when any copy is', () => {
    const map = buildPiiMap({
      typeDefs: { shipment: typeDefs },
      storage: {
        shipment: [
          stored('email', ['Person.email', 'PersonInput.email', 'Query.find(email)'], true, true),
          stored('phone', ['Person.phone'], true),
          stored('home.street', ['Place.street'], true),
          stored('work.street', ['Place.street'], false),
        ],
      },
    });
    const get = (c: string) => byCoordinate(map, c);
    expect([get('Person.email').encryptedAtRest, get('Person.email').blindIndexed]).toEqual([true, true]);
    expect([get('Person.phone').encryptedAtRest, get('Person.phone').blindIndexed]).toEqual([true, false]);
    expect(get('Place.street')).toMatchObject({ encryptedAtRest: false, storedAt: ['people.home.street', 'people.work.street'] });
    expect(get('Query.find(email)').encryptedAtRest).toBe(true);
  });

  test('a coordinate with no declared storage is not encrypted', () => {
    const map = buildPiiMap({ typeDefs: { shipment: typeDefs }, storage: {} });
    expect(map.every((e) => !e.encryptedAtRest && e.storedAt.length === 0)).toBe(true);
  });
});
