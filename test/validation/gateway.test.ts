/**
 * What clients see of input validation, through the gateway: malformed
 * typed values refused at the front door (never an internal error), length
 * limits refused by the subgraph with their path and limit, inputs that name
 * a field the type does not list (mass assignment) refused whole, and the
 * production shapes (generic messages for coercion and validation errors;
 * length refusals keep their numbers).
 */
import { hardenedFormatError } from '../../gateway/hardening/errors';
import { createFormatError } from '../../lib/errors';
import { LengthLimitError } from '../../lib/validation';
import { ADMIN, codes as gatewayCodes, startHardenedGateway } from '../hardening/kit';
import { codes, plan, postGraphQL, startStack, tenantA, userOf, type Stack } from '../kit/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

const secAdmin = userOf(tenantA.id, 'SECURITY_ADMIN');
const CREATE_USER = 'mutation ($input: CreateUserInput!) { createUser(input: $input) { id email } }';
const CREATE_SHIPMENT = 'mutation ($input: CreateShipmentInput!) { createShipment(input: $input) { id tenantId status } }';

function shipmentInput(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    carrier: 'DHL',
    trackingNumber: `VAL${Date.now().toString(36).toUpperCase()}${Math.floor(Math.random() * 1e6)}`,
    origin: { city: 'Amsterdam', countryIso3: 'NLD' },
    destination: { line1: '2 Example Street', city: 'Berlin', postalCode: '10115', countryIso3: 'deu' },
    recipient: { name: 'Test Recipient', phone: '+15550100999', email: 'recipient@example.com' },
    customs: { hsCode: '611020', declaredValue: 4999, currency: 'eur', countryOfOrigin: 'PRT' },
    parcels: [{ barcode: '376123450000000017', weightGrams: 1200, dimensions: { lengthMm: 300, widthMm: 200, heightMm: 100 } }],
    ...extra,
  };
}

describe('typed inputs at the gateway', () => {
  test('valid typed values pass and are normalised by the subgraph', async () => {
    const res = await stack.gql(`${CREATE_SHIPMENT.replace('tenantId status', 'tenantId status destination { countryIso3 }')}`, { input: shipmentInput() });
    expect(res.errors).toBeUndefined();
    expect(res.data!.createShipment).toMatchObject({ tenantId: tenantA.id, status: 'PENDING', destination: { countryIso3: 'DEU' } });
  });

  test('a malformed variable is BAD_USER_INPUT (400) from the gateway, naming the path, never an internal error', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ recipient: { email: 'not-an-email' } }, 'input.recipient.email'],
      [{ recipient: { phone: '555-0100' } }, 'input.recipient.phone'],
      [{ destination: { countryIso3: 'DE' } }, 'input.destination.countryIso3'],
      [{ customs: { hsCode: '611020', declaredValue: -5, currency: 'EUR', countryOfOrigin: 'PRT' } }, 'input.customs.declaredValue'],
      [{ customs: { hsCode: '611020', declaredValue: 5, currency: 'EURO', countryOfOrigin: 'PRT' } }, 'input.customs.currency'],
      [{ parcels: [{ barcode: 'X', weightGrams: -1 }] }, 'input.parcels[0].weightGrams'],
      [{ eta: 'tomorrow' }, 'input.eta'],
    ];
    for (const [override, path] of cases) {
      const res = await stack.gql(CREATE_SHIPMENT, { input: shipmentInput(override) });
      expect({ path, status: res.status, codes: codes(res) }).toEqual({ path, status: 400, codes: ['BAD_USER_INPUT'] });
      expect(res.errors![0].message).toContain(`at "${path}"`);
      expect(res.errors![0].message).toMatch(/; Expected /);
    }
  });

  test('a malformed literal is GRAPHQL_VALIDATION_FAILED from the gateway', async () => {
    const res = await stack.gql('mutation { createUser(input: { email: "nobody", name: "N", roles: [AUDITOR] }) { id } }', undefined, { principal: secAdmin });
    expect(res.status).toBe(400);
    expect(codes(res)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(res.errors![0].message).toContain('Expected an email address');
  });

  test('createUser takes a pasted address with spaces and stores it lower-cased', async () => {
    const res = await stack.gql(CREATE_USER, { input: { email: `  Val.${Date.now()}@Example.COM `, name: 'Val Idation', roles: ['AUDITOR'] } }, { principal: secAdmin });
    expect(res.errors).toBeUndefined();
    // Masked in the answer (someone else's account); the audited reveal shows what was stored.
    expect(res.data!.createUser.email).toBe('v***@example.com');
    const shown = await stack.gql(`mutation($id: ID!) { revealUser(id: $id, reason: "check the stored address") { user { email } } }`, { id: res.data!.createUser.id }, { principal: secAdmin });
    expect(shown.data!.revealUser.user.email).toMatch(/^val\.\d+@example\.com$/);
  });
});

describe('length limits through the gateway', () => {
  test('an over-long text is BAD_USER_INPUT / TOO_LONG with the argument path and max, and nothing is written', async () => {
    const before = (await stack.gql('{ shipments(first: 0) { totalCount } }')).data!.shipments.totalCount;
    const res = await stack.gql(CREATE_SHIPMENT, { input: shipmentInput({ deliveryNotes: 'x'.repeat(1001) }) });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0].extensions).toMatchObject({ reason: 'TOO_LONG', argument: 'input.deliveryNotes', max: 1000 });
    expect(res.errors![0].message).toBe('input.deliveryNotes must be at most 1000 characters');
    expect((await stack.gql('{ shipments(first: 0) { totalCount } }')).data!.shipments.totalCount).toBe(before);
  });

  test('list items and nested fields name their index and path', async () => {
    const res = await stack.gql(CREATE_SHIPMENT, { input: shipmentInput({ parcels: [{ barcode: 'OK1' }, { barcode: 'B'.repeat(65) }] }) });
    expect(res.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOO_LONG', argument: 'input.parcels.1.barcode', max: 64 });
  });

  test('a refused caller learns nothing about limits: in the subgraph, authorization runs before @length', async () => {
    const auditor = userOf(tenantA.id, 'AUDITOR');
    const token = await stack.platform.auth.internalSigner.tokenFor(auditor, 'shipment');
    const res = await postGraphQL(stack.platform.subgraphUrls.shipment, CREATE_SHIPMENT, { input: shipmentInput({ deliveryNotes: 'x'.repeat(1001) }) }, { authorization: `Bearer ${token}` });
    expect(codes(res)).toEqual(['FORBIDDEN']);
  });

  test('the subgraph parses typed values with the same parsers (defence in depth, for calls that bypass the gateway)', async () => {
    const token = await stack.platform.auth.internalSigner.tokenFor(userOf(tenantA.id, 'TENANT_ADMIN'), 'shipment');
    const res = await postGraphQL(stack.platform.subgraphUrls.shipment, CREATE_SHIPMENT, { input: shipmentInput({ recipient: { email: 'not-an-email' } }) }, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(400);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0].message).toContain('at "input.recipient.email"');
  });
});

describe('mass assignment through the gateway', () => {
  test.each([
    ['tenantId', { tenantId: plan.tenants[1].id }],
    ['status', { status: 'DELIVERED' }],
    ['id', { id: '000000000000000000000001' }],
    ['publicTrackingToken', { publicTrackingToken: 'chosen-by-me' }],
  ])('createShipment with %s in its input is refused whole (BAD_USER_INPUT), nothing created', async (_field, extra) => {
    const input = shipmentInput(extra);
    const res = await stack.gql(CREATE_SHIPMENT, { input });
    expect(res.status).toBe(400);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    const found = await stack.gql('query ($n: String) { shipments(filter: { trackingNumber: $n }) { totalCount } }', { n: input.trackingNumber });
    expect(found.data!.shipments.totalCount).toBe(0);
  });

  test('createUser with tenantId or status is refused whole', async () => {
    for (const extra of [{ tenantId: plan.tenants[1].id }, { status: 'SUSPENDED' }, { mfaEnrolled: true }]) {
      const res = await stack.gql(CREATE_USER, { input: { email: `mass.${Date.now()}@example.com`, name: 'Mass Assign', roles: ['AUDITOR'], ...extra } }, { principal: secAdmin });
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    }
  });
});

describe('production shapes', () => {
  test('coercion and validation errors of typed inputs are generic in production (no path, type or value)', async () => {
    const g = await startHardenedGateway('production');
    try {
      const variable = await g.gql(CREATE_SHIPMENT, { variables: { input: shipmentInput({ recipient: { email: 'person@' } }) }, as: ADMIN });
      expect(variable.status).toBe(400);
      expect(variable.errors).toEqual([{ message: 'Invalid variables', extensions: { code: 'BAD_USER_INPUT', requestId: expect.any(String) } }]);
      const literal = await g.gql('mutation { createShipment(input: { carrier: "DHL", trackingNumber: "X1234", origin: { countryIso3: "XX" }, destination: { countryIso3: "DEU" }, recipient: {}, parcels: [] }) { id } }', { as: ADMIN });
      expect(literal.status).toBe(400);
      expect(gatewayCodes(literal)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(JSON.stringify(literal.errors)).not.toMatch(/CountryCodeAlpha3|countryIso3|XX/);
    } finally {
      await g.stop();
    }
  });

  test('a length refusal keeps its code, reason, argument path and max in production (it describes the client’s own input, no schema beyond it)', () => {
    const format = hardenedFormatError('production', createFormatError('production'));
    const err = new LengthLimitError('input.recipient.name', { max: 200 });
    const out = format(err.toJSON(), err);
    expect(out).toEqual({ message: 'input.recipient.name must be at most 200 characters', extensions: { code: 'BAD_USER_INPUT', reason: 'TOO_LONG', argument: 'input.recipient.name', max: 200 } });
  });
});
