/**
 * Masked by default (lib/pii/masking.ts): the maskers per kind of value, the
 * table that gives every @pii output coordinate of every subgraph a rule
 * (so a new @pii field cannot ship unmasked), the reveal marks, and the
 * schema transform on a small executable schema.
 */
import { buildSchema, graphql } from 'graphql';
import {
  EXEMPTIONS,
  MASK,
  MASKERS,
  MASKING,
  REVEALED,
  REVEALS,
  UnmaskedPiiFieldError,
  applyMasking,
  isRevealed,
  markRevealed,
  maskEmail,
  maskPersonName,
  maskPhone,
  maskPostalCode,
  maskValue,
  piiMap,
} from '../../lib/pii';

describe('maskers', () => {
  test('person names keep the first letter of each part', () => {
    expect(maskPersonName('Jane Doe')).toBe('J*** D***');
    expect(maskPersonName('  Mary-Jane   van der Berg ')).toBe('M*** v*** d*** B***');
    expect(maskPersonName('Zoë')).toBe('Z***');
    expect(maskPersonName('   ')).toBe(MASK);
  });

  test('phone numbers keep the last 3 digits of a number of 7 digits or more', () => {
    expect(maskPhone('+44 20 7946 0958')).toBe('•••• ••• 958');
    expect(maskPhone('+15550100123')).toBe('•••• ••• 123');
    expect(maskPhone('112')).toBe('•••• •••');
  });

  test('email addresses keep the first character and the domain', () => {
    expect(maskEmail('jane@example.com')).toBe('j***@example.com');
    expect(maskEmail('recipient07@example.com')).toBe('r***@example.com');
    expect(maskEmail('not-an-email')).toBe(MASK);
    expect(maskEmail('@example.com')).toBe(MASK);
  });

  test('postal codes keep the outward code, or the first 2 characters', () => {
    expect(maskPostalCode('SW1A 1AA')).toBe('SW1A •••');
    expect(maskPostalCode('1012 ab')).toBe('1012 •••');
    expect(maskPostalCode('K1A 0B1')).toBe('K1A •••');
    expect(maskPostalCode('10115')).toBe('10•••');
    expect(maskPostalCode('94105-1234')).toBe('94•••');
    expect(maskPostalCode('100-0001')).toBe('100 •••');
    expect(maskPostalCode('M5H')).toBe(MASK);
  });

  test('address lines and free text get the fixed mask, media references null, positions city level', () => {
    expect(MASKERS.addressLine('221B Baker Street')).toBe(MASK);
    expect(MASKERS.freeText('Door code 4711, ring twice')).toBe(MASK);
    expect(MASKERS.mediaRef('sig://abc.png')).toBeNull();
    expect(MASKERS.mediaRef(['p://1.jpg'])).toBeNull();
    expect(MASKERS.geoPoint({ latitude: 52.37403, longitude: 4.88969, accuracyMeters: 5 })).toEqual({ latitude: 52.4, longitude: 4.9, accuracyMeters: 10_000 });
    expect(MASKERS.geoPoint({ latitude: -33.8688, longitude: 151.2093, accuracyMeters: 25_000 })).toEqual({ latitude: -33.9, longitude: 151.2, accuracyMeters: 25_000 });
    expect(MASKERS.fixed('anything')).toBe(MASK);
  });

  test('null stays null (no value, or a value erased by crypto-shredding); unexpected types get the fixed mask', () => {
    for (const name of Object.keys(MASKERS) as Array<keyof typeof MASKERS>) {
      expect(maskValue(name, null)).toBeNull();
      expect(maskValue(name, undefined)).toBeNull();
    }
    expect(maskValue('personName', 42)).toBe(MASK);
    expect(maskValue('geoPoint', 'somewhere')).toBeNull();
  });
});

describe('the masking table', () => {
  const outputs = piiMap().filter((e) => e.kind === 'output');

  test('has a rule for every @pii output coordinate of every subgraph, and none for anything else', () => {
    expect(outputs.filter((e) => !MASKING[e.coordinate]).map((e) => `${e.subgraph}: ${e.coordinate}`)).toEqual([]);
    const known = new Set(outputs.map((e) => e.coordinate));
    expect(Object.keys(MASKING).filter((c) => !known.has(c))).toEqual([]);
  });

  test('leaves exactly the consent choices unmasked, each with its reason', () => {
    const unmasked = Object.entries(MASKING).filter(([, r]) => r.masker === 'none');
    expect(unmasked.map(([c]) => c).sort()).toEqual(['PrivacySettings.dataSharing', 'PrivacySettings.notificationChannels']);
    for (const [, rule] of unmasked) expect('why' in rule && rule.why.length > 20).toBe(true);
  });

  test('keeps the exemptions few and documented', () => {
    expect(Object.keys(EXEMPTIONS).sort()).toEqual(['elevationParty', 'ownUserRecord']);
    const exempted = Object.entries(MASKING).filter(([, r]) => r.masker !== 'none' && r.exemption).map(([c]) => c);
    expect(exempted.sort()).toEqual(['Elevation.denialReason', 'Elevation.reason', 'User.email', 'User.name']);
  });

  test('reveal operations belong to the subgraph of the fields they reveal', () => {
    for (const e of outputs) {
      const rule = MASKING[e.coordinate];
      if (rule && rule.masker !== 'none' && rule.reveal) expect(REVEALS[rule.reveal].subgraph).toBe(e.subgraph);
    }
  });

  test('the PII map carries read roles, the rule and the roles that may reveal', () => {
    const email = outputs.find((e) => e.coordinate === 'Contact.email')!;
    expect(email.masking).toEqual({ masker: 'email', reveal: 'shipment' });
    expect(email.readRoles).toEqual(['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT', 'DISPATCHER', 'DRIVER', 'PARTNER']);
    expect(email.revealRoles).toEqual(['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT', 'DISPATCHER', 'DRIVER']);
    const signature = outputs.find((e) => e.coordinate === 'ProofOfDelivery.signatureRef')!;
    expect(signature.revealRoles).toEqual(['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT']);
    expect(outputs.find((e) => e.coordinate === 'TrackingEvent.coordinates')!.revealRoles).toEqual(['TENANT_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT']);
    expect(outputs.find((e) => e.coordinate === 'Elevation.reason')!.revealRoles).toEqual([]);
    expect(outputs.find((e) => e.coordinate === 'User.name')!.revealRoles).toEqual(['TENANT_ADMIN', 'SECURITY_ADMIN', 'PRIVACY_OFFICER']);
    const channels = outputs.find((e) => e.coordinate === 'PrivacySettings.notificationChannels')!;
    expect(channels.revealRoles).toEqual(channels.readRoles);
  });
});

describe('reveal marks', () => {
  test('mark a copy, never the record itself, for the classes revealed', () => {
    const record = { name: 'Jane Doe' };
    const marked = markRevealed(record, ['PII']);
    expect(marked).not.toBe(record);
    expect(marked).toEqual(record);
    expect(isRevealed(marked, 'PII')).toBe(true);
    expect(isRevealed(marked, 'SENSITIVE')).toBe(false);
    expect(isRevealed(record, 'PII')).toBe(false);
    expect(isRevealed(markRevealed(record, ['PII', 'SENSITIVE']), 'SENSITIVE')).toBe(true);
    // Not enumerable, not serialised, not forgeable from JSON.
    expect(Object.keys(marked)).toEqual(['name']);
    expect(JSON.stringify(marked)).toBe('{"name":"Jane Doe"}');
    expect(isRevealed(JSON.parse(JSON.stringify({ [String(REVEALED)]: 3, name: 'x' })), 'PII')).toBe(false);
    expect(isRevealed(null, 'PII')).toBe(false);
  });
});

describe('applyMasking', () => {
  const sdl = `
    directive @pii(class: PiiClass!) on FIELD_DEFINITION
    enum PiiClass { PII SENSITIVE }
    type Contact { name: String @pii(class: PII) phone: String @pii(class: PII) email: String @pii(class: PII) }
    type ProofOfDelivery { signerName: String @pii(class: PII) signatureRef: String @pii(class: SENSITIVE) outcome: String }
    type User { id: ID! tenantId: ID! email: String @pii(class: PII) name: String @pii(class: PII) }
    type Query { contact: Contact revealed: Contact pod: ProofOfDelivery podPii: ProofOfDelivery user(id: ID!): User asyncNotes: Contact }
  `;
  const contact = { name: 'Jane Doe', phone: '+15550100123', email: 'jane@example.com' };
  const pod = { signerName: 'John Roe', signatureRef: 'sig://1.png', outcome: 'SUCCEEDED' };
  const rootValue = {
    contact,
    revealed: markRevealed(contact, ['PII']),
    pod,
    podPii: markRevealed(pod, ['PII']),
    user: ({ id }: { id: string }) => ({ id, tenantId: 't1', email: 'me@example.com', name: null }),
    asyncNotes: async () => contact,
  };
  const schema = applyMasking(buildSchema(sdl));
  const run = async (query: string, principal?: object) => {
    const res = await graphql({ schema, source: query, rootValue, contextValue: { principal } });
    expect(res.errors).toBeUndefined();
    return res.data as Record<string, any>;
  };

  test('masks every @pii output field by default and leaves the rest alone', async () => {
    const data = await run('{ contact { name phone email } pod { signerName signatureRef outcome } asyncNotes { name } }');
    expect(data.contact).toEqual({ name: 'J*** D***', phone: '•••• ••• 123', email: 'j***@example.com' });
    expect(data.pod).toEqual({ signerName: 'J*** R***', signatureRef: null, outcome: 'SUCCEEDED' });
    expect(data.asyncNotes).toEqual({ name: 'J*** D***' });
  });

  test('shows a record marked by a reveal, for the classes it reveals only', async () => {
    const data = await run('{ revealed { name phone email } podPii { signerName signatureRef } }');
    expect(data.revealed).toEqual(contact);
    expect(data.podPii).toEqual({ signerName: 'John Roe', signatureRef: null });
  });

  test('applies an exemption to the principal it names, and keeps null as null', async () => {
    const own = { kind: 'user', id: 'u1', tenantId: 't1', roles: ['DRIVER'] };
    expect((await run('{ user(id: "u1") { email name } }', own)).user).toEqual({ email: 'me@example.com', name: null });
    expect((await run('{ user(id: "u2") { email name } }', own)).user).toEqual({ email: 'm***@example.com', name: null });
    expect((await run('{ user(id: "u1") { email } }', { ...own, tenantId: 't2' })).user).toEqual({ email: 'm***@example.com' });
    expect((await run('{ user(id: "u1") { email } }')).user).toEqual({ email: 'm***@example.com' });
  });

  test('refuses a schema with a @pii output field that has no rule', () => {
    const schema = buildSchema(`
      directive @pii(class: PiiClass!) on FIELD_DEFINITION
      enum PiiClass { PII SENSITIVE }
      type Customer { birthDate: String @pii(class: SENSITIVE) favouriteColour: String @pii(class: PII) }
      type Query { customer: Customer }
    `);
    expect(() => applyMasking(schema)).toThrow(UnmaskedPiiFieldError);
    expect(() => applyMasking(schema)).toThrow(/Customer\.birthDate, Customer\.favouriteColour/);
  });
});
