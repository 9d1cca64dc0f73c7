/**
 * No mass assignment: every mutation argument and every input type a
 * mutation reaches lists only the fields a caller may set, kept here per
 * input. Adding `tenantId`, `status` or `id` to an input (or a new input
 * type, or a new mutation argument) fails until it is added below on
 * purpose. Tenant ownership never comes from input: the services take it
 * from the caller (lib/caller.ts `tenantOfCaller`).
 */
import { buildSubgraphSchema } from '@apollo/subgraph';
import { getNamedType, isInputObjectType, type GraphQLInputObjectType, type GraphQLSchema } from 'graphql';
import { SUBGRAPH_NAMES, loadSubgraphTypeDefs } from '../../schema';

/** Arguments of each mutation. */
const MUTATION_ARGS: Readonly<Record<string, readonly string[]>> = {
  createShipment: ['input'],
  recordTrackingEvent: ['input'],
  updateShipmentDetails: ['id', 'input'],
  // The audited reveals: what to reveal and why; the actor, time and elevation come from the platform.
  revealShipment: ['id', 'reason', 'sensitive'],
  revealUser: ['id', 'reason'],
  registerDevice: ['input'],
  recordSensorReading: ['input'],
  createTenant: ['input'],
  createUser: ['input'],
  requestElevation: ['input'],
  approveElevation: ['id'],
  denyElevation: ['id', 'reason'],
  updatePrivacySettings: ['subjectId', 'input'],
  createDataSubjectRequest: ['input'],
  updateDataSubjectRequestStatus: ['id', 'status'],
};

/** Fields of each input type a mutation reaches: what a caller may set. */
const INPUT_FIELDS: Readonly<Record<string, readonly string[]>> = {
  // shipment — tenant, region, status, public token, recipient subject id are set by the platform.
  CreateShipmentInput: ['carrier', 'trackingNumber', 'serviceLevel', 'eta', 'isReturn', 'origin', 'destination', 'recipient', 'deliveryNotes', 'customs', 'parcels'],
  UpdateShipmentDetailsInput: ['serviceLevel', 'eta', 'destination', 'recipient', 'deliveryNotes', 'customs'],
  AddressInput: ['line1', 'line2', 'city', 'region', 'postalCode', 'countryIso3'],
  ContactInput: ['name', 'phone', 'email'],
  CustomsInput: ['hsCode', 'declaredValue', 'currency', 'countryOfOrigin'],
  ParcelInput: ['barcode', 'weightGrams', 'dimensions', 'temperatureProfile'],
  DimensionsInput: ['lengthMm', 'widthMm', 'heightMm'],
  TemperatureProfileInput: ['min', 'max', 'unit'],
  // The event's reported status is the point of the mutation; source, recordedAt and the reporter come from the token.
  RecordTrackingEventInput: ['shipmentId', 'clientEventId', 'occurredAt', 'utcOffsetMinutes', 'status', 'subStatus', 'rawCarrierCode', 'message', 'bizStep', 'disposition', 'location', 'coordinates', 'eta', 'proofOfDelivery'],
  SubStatusInput: ['code', 'text', 'actionRequired'],
  EventLocationInput: ['city', 'region', 'postalCode', 'countryIso3', 'readPoint'],
  GeoPointInput: ['latitude', 'longitude', 'accuracyMeters'],
  // The capturing device comes from the token.
  ProofOfDeliveryInput: ['outcome', 'failureReason', 'signerName', 'signerRelationship', 'signatureRef', 'photoRefs', 'scannedBarcodes', 'pinVerified', 'geo', 'capturedAt'],
  // device — status (PENDING), tenant, verified and alarm are the platform's.
  RegisterDeviceInput: ['kind', 'model', 'firmwareVersion'],
  RecordSensorReadingInput: ['deviceId', 'clientReadingId', 'shipmentId', 'parcelBarcode', 'recordedAt', 'windowStartedAt', 'type', 'value', 'min', 'max', 'mean', 'unit', 'jws'],
  // identity — a user's tenant is the caller's, its status ACTIVE; an elevation's status and approver are the platform's.
  CreateTenantInput: ['name', 'kind', 'homeRegion'],
  CreateUserInput: ['email', 'name', 'roles'],
  RequestElevationInput: ['role', 'scope', 'reason', 'ticket', 'durationMinutes'],
  // privacy — a request's tenant, due date and status are computed.
  PrivacySettingsInput: ['notificationChannels', 'dataSharing'],
  DataSharingTogglesInput: ['analytics', 'marketing', 'partners'],
  CreateDataSubjectRequestInput: ['subjectId', 'kind', 'receivedAt'],
};

/** Set by the platform, never by a caller: no mutation input may carry them, whatever the allow-list says. */
const SERVER_SET = ['id', 'tenantId', 'tenant', 'ownerId', 'createdAt', 'updatedAt', 'reportedBy', 'source', 'verified', 'alarm', 'publicTrackingToken', 'recipientSubjectId', 'rev', 'requesterId', 'approvedBy', 'deniedBy', 'decidedAt', 'expiresAt', 'mfaEnrolled', 'lastLoginAt', 'dueAt', 'completedAt', 'legalHolds', 'fingerprint', 'payloadHash', 'retainUntil', 'originalEta', 'progressRank'];

function mutationInputs(schema: GraphQLSchema): { args: Map<string, string[]>; inputs: Map<string, GraphQLInputObjectType> } {
  const args = new Map<string, string[]>();
  const inputs = new Map<string, GraphQLInputObjectType>();
  const visit = (type: GraphQLInputObjectType) => {
    if (inputs.has(type.name)) return;
    inputs.set(type.name, type);
    for (const f of Object.values(type.getFields())) {
      const named = getNamedType(f.type);
      if (isInputObjectType(named)) visit(named);
    }
  };
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
    args.set(field.name, field.args.map((a) => a.name));
    for (const a of field.args) {
      const named = getNamedType(a.type);
      if (isInputObjectType(named)) visit(named);
    }
  }
  return { args, inputs };
}

const reached = SUBGRAPH_NAMES.map((name) => ({ name, ...mutationInputs(buildSubgraphSchema(loadSubgraphTypeDefs(name))) }));

describe.each(reached)('$name: mutation inputs list only what a caller may set', ({ args, inputs }) => {
  test('every mutation takes exactly its allowed arguments', () => {
    for (const [mutation, names] of args) {
      expect({ mutation, args: names }).toEqual({ mutation, args: MUTATION_ARGS[mutation] ?? ['<mutation not in MUTATION_ARGS>'] });
    }
  });

  test('every input type a mutation reaches has an allow-list, and lists nothing beyond it', () => {
    for (const [name, type] of inputs) {
      const allowed = INPUT_FIELDS[name];
      expect({ input: name, listed: allowed !== undefined }).toEqual({ input: name, listed: true });
      const extra = Object.keys(type.getFields()).filter((f) => !allowed.includes(f));
      expect({ input: name, extra }).toEqual({ input: name, extra: [] });
    }
  });

  test('no input carries a field the platform sets (tenant, ids, statuses it computes, timestamps it records)', () => {
    for (const [name, type] of inputs) {
      expect({ input: name, serverSet: Object.keys(type.getFields()).filter((f) => SERVER_SET.includes(f)) }).toEqual({ input: name, serverSet: [] });
    }
  });
});

test('the allow-lists cover exactly the mutations and inputs of the schema (no stale entries)', () => {
  const mutations = new Set(reached.flatMap((r) => [...r.args.keys()]));
  const inputs = new Set(reached.flatMap((r) => [...r.inputs.keys()]));
  expect([...mutations].sort()).toEqual(Object.keys(MUTATION_ARGS).sort());
  expect([...inputs].sort()).toEqual(Object.keys(INPUT_FIELDS).sort());
});

test('the allow-lists themselves hold no platform-set field', () => {
  for (const [input, fields] of Object.entries(INPUT_FIELDS)) expect({ input, serverSet: fields.filter((f) => SERVER_SET.includes(f)) }).toEqual({ input, serverSet: [] });
});
