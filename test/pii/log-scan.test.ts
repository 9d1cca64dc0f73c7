/**
 * The log scan: the whole platform (gateway, four subgraphs, devdb) logging
 * at `trace` into one capture stream, with console output captured too.
 * Requests carrying known, recognisable personal values go through every
 * subgraph via the gateway — successful ones, ones refused for bad input,
 * and ones that hit an unexpected error inside a subgraph whose message
 * echoes the values (as MongoDB and mongoose errors do) — then every
 * captured line is searched for every value, as written, lower-cased,
 * JSON-escaped and ASCII-escaped. None may appear.
 */
import { format } from 'node:util';
import { demoScimToken } from '../../lib/demo-credentials';
import { createLogger } from '../../lib/logger';
import { createModels as privacyModels } from '../../subgraphs/privacy/model';
import { createModels as shipmentModels } from '../../subgraphs/shipment/model';
import { identityModels, login, scim } from '../kit/credentials';
import { codes, plan, startStack, tenantA, userOf, type GraphQLResponse, type Stack } from '../kit/stack';

// Fake people and places, unique enough that any occurrence in a log is a leak.
const PII = {
  recipientName: 'Zephyrine Quillfeather-Ødegård',
  recipientEmail: 'zephyrine.quillfeather@pii-scan.example',
  recipientPhone: '+447700900461',
  line1: '42 Wombleton Crescent',
  line2: 'Flat 7b, Orrery House',
  postalCode: 'QX7 3PZ',
  deliveryNotes: 'Door code 7319 — "ring twice", leave with Mrs Thistlewood',
  updatedName: "Ottoline O'Marchbanks",
  updatedEmail: 'ottoline.marchbanks@pii-scan.example',
  updatedPhone: '+447700900872',
  updatedNotes: 'Gate code 5521 behind the blue bins',
  eventPostalCode: 'QX7 9LM',
  latitude: 51.4769123,
  signerName: 'Barnaby Thistlewood',
  signatureRef: 'sig://pii-scan/barnaby-signature.png',
  photoRef: 'photo://pii-scan/porch-7731.jpg',
  userName: 'Cordelia Fairweather-Nkemelu',
  userEmail: 'cordelia.fairweather@pii-scan.example',
  scimName: 'Isambard Pennywhistle',
  scimEmail: 'isambard.pennywhistle@pii-scan.example',
  subjectEmail: 'ignatius.brackenbury@pii-scan.example',
  elevationReason: 'Complaint from Hortensia Blackwood about her parcel',
  denialReason: 'Hortensia Blackwood case already closed by Quentin Ashdown',
  revealReason: 'Call from Araminta Featherstonehaugh asking where the parcel is',
  badName: 'Leopoldine Ashgrove',
  badEmail: 'leopoldine.ashgrove@pii-scan.example',
  badPhone: '+447700900113',
  badNotes: 'Key under the mat for Wilhelmina Crabtree',
  dbName: 'Peregrine Holloway-Strand',
  dbEmail: 'peregrine.holloway@pii-scan.example',
  loginEmail: plan.users.find((u) => u.tenantId === tenantA.id && u.roles.includes('TENANT_ADMIN'))!.email,
  loginPassword: 'Tr0ub4dor&3-for-Crabtree',
} as const;

// Surnames and other fragments that would survive a partial mask.
const FRAGMENTS = ['Quillfeather', 'Wombleton', 'Orrery', 'Thistlewood', 'Marchbanks', 'Fairweather', 'Pennywhistle', 'Brackenbury', 'Blackwood', 'Ashdown', 'Ashgrove', 'Crabtree', 'Holloway', 'Featherstonehaugh', '7700900', '4769123'];

/** Every form a value may take in a log line. */
function forms(value: string | number): string[] {
  const text = String(value);
  const json = JSON.stringify(text).slice(1, -1);
  const ascii = json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const digits = /^\+\d+$/.test(text) ? [text.slice(1)] : [];
  return [...new Set([text, text.toLowerCase(), json, json.toLowerCase(), ascii, ascii.toLowerCase(), JSON.stringify(json).slice(1, -1), ...digits])];
}

/** `value (form)` for each known value found in `output`. */
function leaks(output: string, values: readonly (string | number)[]): string[] {
  const haystack = output.toLowerCase();
  return values.flatMap((v) => forms(v).filter((f) => haystack.includes(f.toLowerCase())).map((f) => `${v} (as ${JSON.stringify(f)})`));
}

const KNOWN = [...Object.values(PII), ...FRAGMENTS];

let stack: Stack;
const captured: string[] = [];
const admin = userOf(tenantA.id, 'TENANT_ADMIN');
const dispatcher = userOf(tenantA.id, 'DISPATCHER');
const privacyOfficer = userOf(tenantA.id, 'PRIVACY_OFFICER');
const supportAgent = userOf(tenantA.id, 'SUPPORT_AGENT');
const securityAdmin = userOf(tenantA.id, 'SECURITY_ADMIN');

beforeAll(async () => {
  // ApolloGateway logs through its own console logger: capture that too.
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void captured.push(format(...args)));
  }
  const logger = createLogger('tracksafe', 'trace', { write: (line: string) => void captured.push(line) });
  stack = await startStack({ LOG_LEVEL: 'trace' }, { logger });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  jest.restoreAllMocks();
});

const ok = <T>(res: GraphQLResponse<T>): T => {
  if (res.errors) throw new Error(`unexpected errors: ${JSON.stringify(res.errors.map((e) => e.extensions?.code))}`);
  return res.data!;
};

const SHIPMENT_FIELDS = `
  id recipientSubjectId deliveryNotes
  origin { line1 line2 postalCode city countryIso3 }
  destination { line1 line2 postalCode city countryIso3 }
  recipient { name phone email }
`;
const CREATE = `mutation($input: CreateShipmentInput!) { createShipment(input: $input) { ${SHIPMENT_FIELDS} } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateShipmentDetailsInput!) { updateShipmentDetails(id: $id, input: $input) { ${SHIPMENT_FIELDS} } }`;
const RECORD = `mutation($input: RecordTrackingEventInput!) { recordTrackingEvent(input: $input) { id status location { city postalCode } coordinates { latitude longitude } } }`;

const shipmentInput = (overrides: Record<string, unknown> = {}) => ({
  carrier: 'DHL',
  trackingNumber: `PIISCAN${Date.now().toString(36).toUpperCase()}${Math.floor(Math.random() * 1e6)}`,
  origin: { line1: '1 Depot Road', city: 'Leeds', postalCode: 'LS1 1AA', countryIso3: 'GBR' },
  destination: { line1: PII.line1, line2: PII.line2, city: 'London', postalCode: PII.postalCode, countryIso3: 'GBR' },
  recipient: { name: PII.recipientName, phone: PII.recipientPhone, email: PII.recipientEmail },
  deliveryNotes: PII.deliveryNotes,
  parcels: [{ barcode: '376123450000000017', weightGrams: 900 }],
  ...overrides,
});

let shipment: { id: string; recipientSubjectId: string };

describe('personal data pushed through every subgraph', () => {
  test('shipment: createShipment, updateShipmentDetails, recordTrackingEvent with a proof of delivery, and a read of it all', async () => {
    shipment = ok(await stack.gql<{ createShipment: typeof shipment & Record<string, any> }>(CREATE, { input: shipmentInput() })).createShipment;
    // Answers are masked by default (lib/pii/masking.ts); the audited reveal below shows the values.
    expect(shipment).toMatchObject({ recipient: { name: 'Z*** Q***' }, destination: { line1: '•••', postalCode: 'QX7 •••' } });

    const updated = ok(
      await stack.gql<{ updateShipmentDetails: Record<string, any> }>(UPDATE, {
        id: shipment.id,
        input: { recipient: { name: PII.updatedName, phone: PII.updatedPhone, email: PII.updatedEmail }, deliveryNotes: PII.updatedNotes },
      }),
    ).updateShipmentDetails;
    expect(updated.recipient.name).toBe("O*** O***");

    const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
    const recorded = ok(
      await stack.gql<{ recordTrackingEvent: Record<string, any> }>(
        RECORD,
        {
          input: {
            shipmentId: shipment.id,
            clientEventId: `pii-scan-${Date.now()}`,
            occurredAt: minutesAgo(5),
            status: 'DELIVERED',
            message: 'Delivered',
            location: { city: 'London', postalCode: PII.eventPostalCode, countryIso3: 'GBR' },
            coordinates: { latitude: PII.latitude, longitude: -0.0014123 },
            proofOfDelivery: {
              outcome: 'SUCCEEDED',
              signerName: PII.signerName,
              signerRelationship: 'NEIGHBOUR',
              signatureRef: PII.signatureRef,
              photoRefs: [PII.photoRef],
              geo: { latitude: PII.latitude, longitude: -0.0014123 },
              capturedAt: minutesAgo(5),
            },
          },
        },
        { principal: dispatcher },
      ),
    ).recordTrackingEvent;
    expect(recorded.status).toBe('DELIVERED');

    // One read that spans all four subgraphs: shipment, identity (tenant), privacy (recipientPrivacy), device (devices).
    const read = ok(
      await stack.gql<{ shipment: Record<string, any> }>(
        `query($id: ID!) { shipment(id: $id) { ${SHIPMENT_FIELDS} tenant { name } recipientPrivacy { notificationChannels } devices { id }
          proofOfDelivery { signerName signatureRef photoRefs geo { latitude } }
          events(first: 5) { edges { node { location { postalCode } coordinates { latitude } } } } } }`,
        { id: shipment.id },
        { principal: privacyOfficer },
      ),
    ).shipment;
    expect(read.proofOfDelivery.signerName).toBe('B*** T***');
    expect(read.recipient.email).toBe('o***@pii-scan.example');

    // The audited reveal: the values come back in the answer, the reason goes to the audit trail only.
    const revealed = ok(
      await stack.gql<{ revealShipment: { shipment: Record<string, any> } }>(
        `mutation($id: ID!, $reason: String!) { revealShipment(id: $id, reason: $reason) { fields shipment { ${SHIPMENT_FIELDS} proofOfDelivery { signerName } events(first: 5) { edges { node { location { postalCode } } } } } } }`,
        { id: shipment.id, reason: PII.revealReason },
        { principal: privacyOfficer },
      ),
    ).revealShipment.shipment;
    expect(revealed.proofOfDelivery.signerName).toBe(PII.signerName);
    expect(revealed.recipient.email).toBe(PII.updatedEmail);
    expect(revealed.destination.line1).toBe(PII.line1);
  });

  test('privacy: updatePrivacySettings and createDataSubjectRequest', async () => {
    const settings = ok(
      await stack.gql<{ updatePrivacySettings: Record<string, any> }>(
        `mutation($subjectId: ID!, $input: PrivacySettingsInput!) { updatePrivacySettings(subjectId: $subjectId, input: $input) { subjectId notificationChannels dataSharing { marketing } } }`,
        { subjectId: shipment.recipientSubjectId, input: { notificationChannels: ['EMAIL', 'SMS'], dataSharing: { marketing: true } } },
        { principal: privacyOfficer },
      ),
    ).updatePrivacySettings;
    expect(settings.notificationChannels).toEqual(['EMAIL', 'SMS']);

    const dsr = ok(
      await stack.gql<{ createDataSubjectRequest: Record<string, any> }>(
        `mutation($input: CreateDataSubjectRequestInput!) { createDataSubjectRequest(input: $input) { id subjectId kind } }`,
        { input: { subjectId: PII.subjectEmail, kind: 'ACCESS' } },
        { principal: privacyOfficer },
      ),
    ).createDataSubjectRequest;
    expect(dsr.subjectId).toBe(PII.subjectEmail);
  });

  test('identity: createUser, SCIM create, an elevation requested and denied with reasons, a failed dev login', async () => {
    const user = ok(
      await stack.gql<{ createUser: Record<string, any> }>(`mutation($input: CreateUserInput!) { createUser(input: $input) { id email name } }`, {
        input: { email: PII.userEmail, name: PII.userName, roles: ['SUPPORT_AGENT'] },
      }),
    ).createUser;
    expect(user.name).toBe('C*** F***');
    const shownUser = ok(
      await stack.gql<{ revealUser: { user: { name: string } } }>(`mutation($id: ID!, $reason: String!) { revealUser(id: $id, reason: $reason) { user { name email } } }`, {
        id: user.id,
        reason: PII.revealReason,
      }),
    ).revealUser;
    expect(shownUser.user.name).toBe(PII.userName);

    const created = await scim(stack, 'POST', '/Users', demoScimToken(tenantA.id), {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: PII.scimEmail,
      name: { givenName: 'Isambard', familyName: 'Pennywhistle' },
      displayName: PII.scimName,
      emails: [{ value: PII.scimEmail, primary: true }],
    });
    expect(created.status).toBe(201);

    const requested = ok(
      await stack.gql<{ requestElevation: { id: string } }>(
        `mutation($input: RequestElevationInput!) { requestElevation(input: $input) { id } }`,
        { input: { role: 'AUDITOR', reason: PII.elevationReason, ticket: 'SUP-4242', durationMinutes: 30 } },
        { principal: supportAgent },
      ),
    ).requestElevation;
    const denied = ok(
      await stack.gql<{ denyElevation: { status: string; denialReason: string } }>(
        `mutation($id: ID!, $reason: String!) { denyElevation(id: $id, reason: $reason) { status denialReason } }`,
        { id: requested.id, reason: PII.denialReason },
        { principal: securityAdmin },
      ),
    ).denyElevation;
    expect(denied.status).toBe('DENIED');

    const failed = await login(stack, { email: PII.loginEmail, password: PII.loginPassword, totp: '000000' });
    expect(failed.status).toBe(401);
  });
});

describe('personal data in requests that fail', () => {
  test('variables that do not coerce: wrong types and unknown fields', async () => {
    const wrongType = await stack.gql(CREATE, { input: shipmentInput({ recipient: { name: PII.badName, phone: 447700900113, email: PII.badEmail } }) });
    expect(wrongType.errors).toBeDefined();
    const unknownField = await stack.gql(CREATE, { input: shipmentInput({ recipient: { name: PII.badName, email: PII.badEmail, fax: PII.badPhone } }) });
    expect(unknownField.errors).toBeDefined();
  });

  test('values the subgraphs refuse: a bad phone, a bad email, a too-long note, a bad subject id', async () => {
    const badPhone = await stack.gql(CREATE, { input: shipmentInput({ recipient: { name: PII.badName, phone: `call ${PII.badPhone}`, email: PII.badEmail } }) });
    expect(codes(badPhone)).toContain('BAD_USER_INPUT');
    const badEmail = await stack.gql(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, { input: { email: `${PII.badName} <nowhere>`, name: PII.badName, roles: ['DRIVER'] } });
    expect(badEmail.errors).toBeDefined();
    const longNotes = await stack.gql(UPDATE, { id: shipment.id, input: { deliveryNotes: `${PII.badNotes} ${'x'.repeat(5000)}` } });
    expect(longNotes.errors).toBeDefined();
    const badSubject = await stack.gql(
      `mutation($input: CreateDataSubjectRequestInput!) { createDataSubjectRequest(input: $input) { id } }`,
      { input: { subjectId: `${PII.badName} ${PII.badEmail}`, kind: 'ERASURE' } },
      { principal: privacyOfficer },
    );
    expect(badSubject.errors).toBeDefined();
  });

  test('personal data written into the query document itself, failing validation', async () => {
    const res = await stack.gql(`mutation { createShipment(input: { carrier: "DHL", recipient: { name: "${PII.badName}", email: "${PII.badEmail}", bogus: 1 } }) { id } }`);
    expect(res.errors).toBeDefined();
  });

  test('bad SCIM and login bodies', async () => {
    const scimBad = await scim(stack, 'POST', '/Users', demoScimToken(tenantA.id), {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      name: { givenName: PII.badName },
      emails: [{ value: PII.badEmail }],
    });
    expect(scimBad.status).toBe(400);
    const malformed = await fetch(stack.platform.gatewayUrl.replace(/\/graphql$/, '/auth/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"email":"${PII.badEmail}","password":"${PII.loginPassword}"`,
    });
    expect(malformed.status).toBeGreaterThanOrEqual(400);
  });

  test('unexpected errors inside the subgraphs whose messages echo the values, as database errors do', async () => {
    const conn = stack.platform.stores.forRegion();
    const users = jest.spyOn(identityModels(stack).User, 'create').mockRejectedValueOnce(
      new Error(`Document failed validation: { tenantId: "${tenantA.id}", email: "${PII.dbEmail}", name: "${PII.dbName}" }`),
    );
    const shipments = jest.spyOn(shipmentModels(conn).Shipment, 'create').mockRejectedValueOnce(
      new Error(
        `Shipment validation failed: recipient.name: Cast to string failed for value "${PII.dbName}" (type Object) at path "recipient.name", deliveryNotes: Path \`deliveryNotes\` (\`${PII.badNotes}\`) is longer than the maximum allowed length (10).`,
      ),
    );
    const dsrs = jest.spyOn(privacyModels(conn).DataSubjectRequest, 'create').mockRejectedValueOnce(
      new TypeError(`Cannot read properties of undefined (reading 'subjectId') while saving {"subjectId":"${PII.dbEmail}","phone":"${PII.badPhone}"}`),
    );
    try {
      const user = await stack.gql(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, { input: { email: PII.dbEmail, name: PII.dbName, roles: ['DRIVER'] } });
      const created = await stack.gql(CREATE, { input: shipmentInput({ recipient: { name: PII.dbName, email: PII.dbEmail }, deliveryNotes: PII.badNotes }) });
      const dsr = await stack.gql(
        `mutation($input: CreateDataSubjectRequestInput!) { createDataSubjectRequest(input: $input) { id } }`,
        { input: { subjectId: PII.dbEmail, kind: 'PORTABILITY' } },
        { principal: privacyOfficer },
      );
      for (const res of [user, created, dsr]) expect(codes(res)).toEqual(['INTERNAL_SERVER_ERROR']);
      expect([users, shipments, dsrs].map((spy) => spy.mock.calls.length)).toEqual([1, 1, 1]);
    } finally {
      for (const spy of [users, shipments, dsrs]) spy.mockRestore();
    }
  });
});

describe('the captured logs', () => {
  test('were written: the unexpected errors were logged by each subgraph they happened in', () => {
    const lines = captured.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
    expect(lines.length).toBeGreaterThan(0);
    const failures = lines.filter((l) => l.msg === 'request failed' && l.err);
    expect([...new Set(failures.map((l) => l.service))]).toEqual(expect.arrayContaining(['identity', 'shipment', 'privacy']));
  });

  test('hold none of the personal values, in any form', () => {
    expect(leaks(captured.join('\n'), KNOWN)).toEqual([]);
  });

  test('the scan itself finds a value that was logged (control)', () => {
    const line = JSON.stringify({ msg: `signed by ${PII.signerName}`, detail: PII.recipientName });
    expect(leaks(line, KNOWN)).toEqual(expect.arrayContaining([expect.stringContaining(PII.signerName), expect.stringContaining('Quillfeather')]));
    expect(leaks(JSON.stringify({ notes: PII.deliveryNotes }), [PII.deliveryNotes])).not.toEqual([]);
  });
});
