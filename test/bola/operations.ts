/**
 * The BOLA operation catalogue: every read the property test
 * (bola.test.ts) aims random principals and random ids at.
 *
 * - `ROOT_OPERATIONS`: one entry per way of reaching data from a root Query
 *   field (the field itself, and its nested connections and entity hops).
 *   Each is sent through the gateway with its narrow `selection`; entries
 *   marked `direct` are also sent straight to the subgraph that resolves the
 *   field, with a selection of every field of the result (built from the
 *   subgraph schema by the runner), past the gateway's guard.
 * - `ENTITY_OPERATIONS`: one entry per (subgraph, entity type) pair,
 *   sent to that subgraph's `_entities` with a valid internal token for the
 *   random principal and representations that may carry forged fields.
 *   The selection is every field of the type in that subgraph (generated),
 *   so a field added later is probed without touching this file.
 *
 * catalogue.test.ts fails when a root Query field of the supergraph (or a
 * subgraph) has no entry here, or an entity type of a subgraph has no
 * entity entry, or an entry no longer validates against the schema.
 *
 * Adding a root field: add an entry with `field` set to it, the kinds of
 * record it takes in `targets`, its argument types in `args`, `values`
 * building arguments from a target (use the target's id wherever the field
 * takes an id; forge cursors with `forgedCursor`), a selection that includes
 * `id`/`tenantId` of every object it returns, `direct: true` to probe its
 * subgraph past the gateway too, and for a connection with `totalCount`
 * `count` plus the plain pages in `sweep`. Adding an entity type to a
 * subgraph: add its `_entities` entry (the selection is generated).
 */
import type { SubgraphName } from '../../schema';

/** What kind of record a target id names (junk: nothing). */
export type TargetKind = 'shipment' | 'device' | 'user' | 'tenant' | 'dsr' | 'subject' | 'apiClient' | 'event' | 'reading' | 'elevation' | 'junk';

/** An id to aim an operation at: a real record of some tenant, or junk. */
export interface Target {
  kind: TargetKind;
  id: string;
  /** Tenant that owns the record (none for junk). */
  owner?: string;
  /** Shipments: tracking number, the demo public-tracking token, recipient, carrier, region. */
  trackingNumber?: string;
  trackingToken?: string;
  recipientSubjectId?: string;
  carrier?: string;
  region?: string;
  /** Sort value the record's list is ordered by (epoch ms), to forge a cursor positioned at it. */
  sortKey?: number;
}

/** Everything operations may draw forged values from. */
export interface Pool {
  targets: readonly Target[];
  /** Real tenant ids and junk ones. */
  tenantIds: readonly string[];
  /** Data-subject ids: shipment recipients, users, junk. */
  subjectIds: readonly string[];
}

/**
 * A deterministic stream of choices from one generated integer: a case is
 * reproducible from (operation, target, variant) alone.
 */
export class Choices {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** mulberry32 */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

export const encodeCursorValue = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/** How a list orders its cursors: by a date (epoch ms), or by a name kept out of the cursor (`k` is ''). */
export type CursorStyle = 'date' | 'name';

/**
 * An `after` cursor positioned at the target (another tenant's record,
 * say), well-formed for the list's `style`; rarely a malformed one; or none.
 */
export function forgedCursor(t: Target, c: Choices, style: CursorStyle = 'date'): string | null {
  if (c.chance(0.3)) return null;
  if (c.chance(0.03)) return c.pick(['not-a-cursor', encodeCursorValue({ $gt: '' }), encodeCursorValue([{ $ne: null }, t.id]), encodeCursorValue([1, { $ne: null }])]);
  if (style === 'name') return encodeCursorValue(['', t.id]);
  return encodeCursorValue([c.pick([t.sortKey ?? 0, (t.sortKey ?? 0) + 1, 0, 4102444800000]), t.id]);
}

/** A page size: mostly valid, rarely over the limit (BAD_USER_INPUT). */
export const pageSize = (c: Choices, sizes: readonly number[] = [0, 1, 3, 20, 100]): number => (c.chance(0.01) ? 101 : c.pick(sizes));

/** A value a representation field may be forged to: a string from the pool, or an injection attempt. */
export function forgedScalar(c: Choices, from: readonly string[]): unknown {
  if (c.chance(0.08)) return c.pick<unknown>([{ $ne: null }, { $gt: '' }, [from[0]], 42, null, '']);
  return c.pick(from);
}

export interface RootOperation {
  /** Unique name (reports and query caching). */
  name: string;
  /** The root Query field. */
  field: string;
  /** Kinds of record most cases aim at (the rest draw from every target, junk included). */
  targets?: readonly TargetKind[];
  /** The root field's own arguments: name → GraphQL type. */
  args: Readonly<Record<string, string>>;
  /** Variables the gateway `selection` uses for nested arguments, referenced as `$name`: name → type. */
  selectionArgs?: Readonly<Record<string, string>>;
  /** Variable values for one case (keys of `args` and `selectionArgs`; null for omitted). */
  values(t: Target, c: Choices, pool: Pool): Record<string, unknown>;
  /**
   * The selection sent through the gateway, `id`/`tenantId` included. Kept
   * narrow per entry: the gateway refuses a whole request when one selected
   * field needs a role or scope the caller lacks.
   */
  selection: string;
  /** Also sent to the subgraph resolving `field`, selecting every field of the result. */
  direct?: boolean;
  /** A connection: `totalCount` can only count records of the principal's tenants in `collection`, exactly when `exact(values)`. */
  count?: { collection: string; exact?: (values: Record<string, unknown>) => boolean };
  /** Anonymous public view: no identifiers or personal data, whoever asks. */
  publicView?: boolean;
  /**
   * Lists and argument-less fields: the plain calls every run also sends
   * straight to the subgraph, so every principal reads every list: a full
   * first page (no filter, no cursor), where records show, and an empty
   * one (`first: 0`), where only `totalCount` speaks — a tenant filter
   * missing from the count is invisible behind the object policies of a
   * full page, whose foreign nodes are refused.
   */
  sweep?: ReadonlyArray<Record<string, unknown>>;
  /** No arguments at all: one slot per request. */
  targetless?: boolean;
}

export interface EntityOperation {
  name: string;
  subgraph: SubgraphName;
  typename: string;
  /** Kinds of record most cases aim at (the rest draw from every target, junk included). */
  targets: readonly TargetKind[];
  /** The representation (without `__typename`) for one case; may carry forged fields. */
  representation(t: Target, c: Choices, pool: Pool): Record<string, unknown>;
}

const PAGE_INFO = 'pageInfo { hasNextPage endCursor }';
const SETTINGS = 'subjectId notificationChannels dataSharing { analytics marketing partners } updatedAt';
const REGIONS = ['EU', 'US', 'APAC'] as const;
const noFilter = (v: Record<string, unknown>) => v.filter === null || v.filter === undefined;

function shipmentFilter(t: Target, c: Choices): Record<string, unknown> | null {
  switch (c.int(7)) {
    case 0:
    case 1:
      return null;
    case 2:
      return { trackingNumber: t.trackingNumber ?? t.id };
    case 3:
      return { region: c.pick(REGIONS) };
    case 4:
      return { carrier: t.carrier ?? 'DHL', region: t.region ?? c.pick(REGIONS) };
    case 5:
      return { status: c.pick([['IN_TRANSIT'], ['DELIVERED', 'EXCEPTION'], ['PENDING', 'LABEL_CREATED', 'OUT_FOR_DELIVERY']]) };
    default:
      return { trackingNumber: t.trackingNumber ?? t.id, carrier: t.carrier ?? 'UPS', createdAfter: '2000-01-01T00:00:00Z' };
  }
}

const byId = (t: Target) => ({ id: t.id });

export const ROOT_OPERATIONS: readonly RootOperation[] = [
  // ---------------------------------------------------------------- shipment subgraph
  {
    name: 'shipment',
    field: 'shipment',
    targets: ['shipment'],
    args: { id: 'ID!' },
    values: byId,
    selection: '{ id tenantId carrier trackingNumber status statusDetail region isReturn createdAt latestEvent { id shipmentId status } }',
    direct: true,
  },
  {
    name: 'shipment.personalData',
    field: 'shipment',
    targets: ['shipment'],
    args: { id: 'ID!' },
    values: byId,
    selection:
      '{ id tenantId recipient { name phone email } deliveryNotes origin { line1 line2 postalCode city countryIso3 } destination { line1 line2 postalCode city countryIso3 } customs { hsCode declaredValue } proofOfDelivery { signerName signatureRef deviceId } recipientSubjectId parcels { barcode } }',
  },
  {
    name: 'shipment.events',
    field: 'shipment',
    targets: ['shipment'],
    args: { id: 'ID!' },
    selectionArgs: { first: 'Int', after: 'String' },
    values: (t, c) => ({ id: t.id, first: pageSize(c), after: forgedCursor(t, c) }),
    selection: `{ id tenantId events(first: $first, after: $after) { totalCount ${PAGE_INFO} edges { cursor node { id shipmentId status message clientEventId } } } }`,
  },
  {
    name: 'shipment.readings',
    field: 'shipment',
    targets: ['shipment'],
    args: { id: 'ID!' },
    selectionArgs: { first: 'Int', after: 'String' },
    values: (t, c) => ({ id: t.id, first: pageSize(c), after: forgedCursor(t, c) }),
    selection: `{ id tenantId readings(first: $first, after: $after) { totalCount ${PAGE_INFO} edges { cursor node { id shipmentId deviceId type value } } } latestReading { id shipmentId deviceId } }`,
  },
  {
    name: 'shipment.devices',
    field: 'shipment',
    targets: ['shipment'],
    args: { id: 'ID!' },
    values: byId,
    selection: '{ id tenantId devices { id tenantId kind model status } }',
  },
  {
    name: 'shipment.tenant',
    field: 'shipment',
    targets: ['shipment'],
    args: { id: 'ID!' },
    values: byId,
    selection: '{ id tenantId tenant { id name kind homeRegion } }',
  },
  {
    name: 'shipment.recipientPrivacy',
    field: 'shipment',
    targets: ['shipment'],
    args: { id: 'ID!' },
    values: byId,
    selection: `{ id tenantId recipientPrivacy { ${SETTINGS} } }`,
  },
  {
    name: 'shipments',
    field: 'shipments',
    targets: ['shipment'],
    args: { filter: 'ShipmentFilter', first: 'Int', after: 'String' },
    values: (t, c) => ({ filter: shipmentFilter(t, c), first: pageSize(c), after: forgedCursor(t, c) }),
    selection: `{ totalCount ${PAGE_INFO} edges { cursor node { id tenantId trackingNumber carrier status } } }`,
    direct: true,
    sweep: [{ filter: null, first: 25, after: null }, { filter: null, first: 0, after: null }],
    count: { collection: 'shipments', exact: noFilter },
  },
  {
    name: 'shipments.nested',
    field: 'shipments',
    targets: ['shipment'],
    args: { filter: 'ShipmentFilter', first: 'Int' },
    values: (t, c) => ({ filter: shipmentFilter(t, c), first: c.pick([1, 3, 5]) }),
    selection: `{ totalCount edges { node { id tenantId tenant { id name } devices { id tenantId } latestReading { id shipmentId deviceId }
      events(first: 2) { totalCount edges { node { id shipmentId } } } readings(first: 2) { totalCount edges { node { id shipmentId deviceId } } } } } }`,
    count: { collection: 'shipments', exact: noFilter },
  },
  {
    // Seeded recipients are recipient00…recipientNN@example.com across tenants: real contacts, aimed at by anyone.
    name: 'shipmentsByRecipientContact',
    field: 'shipmentsByRecipientContact',
    targets: ['shipment'],
    args: { email: 'String', phone: 'String' },
    values: (t, c) => {
      const n = String(c.int(60)).padStart(2, '0');
      return c.chance(0.7) ? { email: `recipient${n}@example.com`, phone: null } : { email: null, phone: `+1555010${n.padStart(4, '0')}` };
    },
    selection: '{ id tenantId region recipientSubjectId }',
    direct: true,
  },
  {
    name: 'trackShipment',
    field: 'trackShipment',
    targets: ['shipment'],
    args: { trackingNumber: 'String!', token: 'String!' },
    values: (t, c) => ({
      trackingNumber: c.chance(0.9) ? (t.trackingNumber ?? t.id) : t.id,
      token: c.chance(0.6) ? (t.trackingToken ?? t.id) : c.pick(['wrong-token', '', 'AAAAAAAAAAAAAAAAAAAAAA']),
    }),
    selection: '{ carrier status statusDetail eta events { occurredAt status message location { city region countryIso3 } } }',
    direct: true,
    publicView: true,
  },
  // ---------------------------------------------------------------- device subgraph
  {
    name: 'device',
    field: 'device',
    targets: ['device'],
    args: { id: 'ID!' },
    values: byId,
    selection: '{ id tenantId kind model firmwareVersion status lastSeenAt createdAt }',
    direct: true,
  },
  {
    name: 'devices',
    field: 'devices',
    targets: ['device'],
    args: { first: 'Int', after: 'String' },
    values: (t, c) => ({ first: pageSize(c), after: forgedCursor(t, c) }),
    selection: `{ totalCount ${PAGE_INFO} edges { cursor node { id tenantId kind status } } }`,
    direct: true,
    sweep: [{ first: 25, after: null }, { first: 0, after: null }],
    count: { collection: 'devices', exact: () => true },
  },
  // ---------------------------------------------------------------- identity subgraph
  {
    name: 'tenant',
    field: 'tenant',
    targets: ['tenant'],
    args: { id: 'ID!' },
    values: byId,
    selection: '{ id name kind homeRegion createdAt }',
    direct: true,
  },
  {
    name: 'me',
    field: 'me',
    args: {},
    values: () => ({}),
    selection: `{ id tenantId email name roles status privacySettings { ${SETTINGS} } }`,
    direct: true,
    sweep: [{}],
    targetless: true,
  },
  {
    name: 'users',
    field: 'users',
    targets: ['user'],
    args: { first: 'Int', after: 'String' },
    values: (t, c) => ({ first: pageSize(c), after: forgedCursor(t, c, 'name') }),
    selection: `{ totalCount ${PAGE_INFO} edges { cursor node { id tenantId email name roles status } } }`,
    direct: true,
    sweep: [{ first: 25, after: null }, { first: 0, after: null }],
    count: { collection: 'users', exact: () => true },
  },
  {
    name: 'users.privacySettings',
    field: 'users',
    targets: ['user'],
    args: { first: 'Int' },
    values: (_t, c) => ({ first: c.pick([1, 5, 20]) }),
    selection: `{ totalCount edges { node { id tenantId privacySettings { ${SETTINGS} } } } }`,
    count: { collection: 'users', exact: () => true },
  },
  {
    name: 'apiClients',
    field: 'apiClients',
    targets: ['apiClient'],
    args: { first: 'Int', after: 'String' },
    values: (t, c) => ({ first: pageSize(c), after: forgedCursor(t, c) }),
    selection: `{ totalCount ${PAGE_INFO} edges { cursor node { id tenantId name scopes status contractEndsAt allowedEventTypes } } }`,
    direct: true,
    sweep: [{ first: 25, after: null }, { first: 0, after: null }],
    count: { collection: 'api_clients', exact: () => true },
  },
  {
    name: 'elevations',
    field: 'elevations',
    targets: ['elevation'],
    args: { status: 'ElevationStatus', first: 'Int', after: 'String' },
    values: (t, c) => ({ status: c.chance(0.6) ? null : c.pick(['PENDING', 'APPROVED', 'DENIED', 'EXPIRED']), first: pageSize(c), after: forgedCursor(t, c) }),
    selection: `{ totalCount ${PAGE_INFO} edges { cursor node { id tenantId requesterId role scope reason ticket status approvedBy deniedBy } } }`,
    direct: true,
    sweep: [{ status: null, first: 25, after: null }, { status: null, first: 0, after: null }],
    // A SECURITY_ADMIN sees the tenant's, anyone else only their own: a bound, not an exact count.
    count: { collection: 'elevations' },
  },
  {
    // The caller's own tenant's keys: nothing in it names another tenant (ids are the tenant's own keys).
    name: 'keyInventory',
    field: 'keyInventory',
    args: {},
    values: () => ({}),
    selection: '{ rotationDays tenantKeys { id version status ageDays } subjectKeys { subjects active destroyed } }',
    sweep: [{}],
    targetless: true,
  },
  {
    name: 'myActiveElevations',
    field: 'myActiveElevations',
    args: {},
    values: () => ({}),
    selection: '{ id tenantId requesterId role scope status expiresAt }',
    direct: true,
    sweep: [{}],
    targetless: true,
  },
  // ---------------------------------------------------------------- privacy subgraph
  {
    name: 'privacySettings',
    field: 'privacySettings',
    targets: ['subject', 'user', 'shipment'],
    args: { subjectId: 'ID!' },
    values: (t, c, pool) => ({ subjectId: c.chance(0.5) ? (t.recipientSubjectId ?? t.id) : c.pick(pool.subjectIds) }),
    selection: `{ ${SETTINGS} }`,
    direct: true,
  },
  {
    name: 'dataSubjectRequests',
    field: 'dataSubjectRequests',
    targets: ['dsr'],
    args: { first: 'Int', after: 'String' },
    values: (t, c) => ({ first: pageSize(c), after: forgedCursor(t, c) }),
    selection: `{ totalCount ${PAGE_INFO} edges { cursor node { id tenantId subjectId kind status receivedAt dueAt legalHolds } } }`,
    direct: true,
    sweep: [{ first: 25, after: null }, { first: 0, after: null }],
    count: { collection: 'data_subject_requests', exact: () => true },
  },
];

/** A tenant id for a forged representation: the target's owner, another real one, or junk. */
const forgedTenant = (t: Target, c: Choices, pool: Pool): unknown => (c.chance(0.3) && t.owner ? t.owner : forgedScalar(c, pool.tenantIds));

export const ENTITY_OPERATIONS: readonly EntityOperation[] = [
  // The owning subgraph loads the shipment by id: forged fields next to it must change nothing.
  {
    name: 'shipment:Shipment',
    subgraph: 'shipment',
    typename: 'Shipment',
    targets: ['shipment'],
    representation: (t, c, pool) => ({
      id: c.chance(0.05) ? forgedScalar(c, [t.id]) : t.id,
      ...(c.chance(0.5) ? { tenantId: forgedTenant(t, c, pool) } : {}),
      ...(c.chance(0.3) ? { recipientSubjectId: forgedScalar(c, pool.subjectIds) } : {}),
    }),
  },
  // Device extends Shipment by id alone: devices and readings must come from the caller's tenant only.
  {
    name: 'device:Shipment',
    subgraph: 'device',
    typename: 'Shipment',
    targets: ['shipment'],
    representation: (t, c, pool) => ({ id: c.chance(0.05) ? forgedScalar(c, [t.id]) : t.id, ...(c.chance(0.3) ? { tenantId: forgedTenant(t, c, pool) } : {}) }),
  },
  {
    name: 'device:Device',
    subgraph: 'device',
    typename: 'Device',
    targets: ['device'],
    representation: (t, c, pool) => ({ id: c.chance(0.05) ? forgedScalar(c, [t.id]) : t.id, ...(c.chance(0.3) ? { tenantId: forgedTenant(t, c, pool) } : {}) }),
  },
  // Identity trusts nothing of the representation's tenantId (@requires): it names the tenant to load.
  {
    name: 'identity:Shipment',
    subgraph: 'identity',
    typename: 'Shipment',
    targets: ['shipment'],
    representation: (t, c, pool) => ({ id: t.id, tenantId: forgedTenant(t, c, pool) }),
  },
  {
    name: 'identity:Tenant',
    subgraph: 'identity',
    typename: 'Tenant',
    targets: ['tenant'],
    representation: (t, c, pool) => ({ id: c.chance(0.1) ? forgedScalar(c, [t.id]) : c.chance(0.2) ? c.pick(pool.tenantIds) : t.kind !== 'tenant' && t.owner && c.chance(0.5) ? t.owner : t.id }),
  },
  {
    name: 'identity:User',
    subgraph: 'identity',
    typename: 'User',
    targets: ['user'],
    representation: (t, c, pool) => ({ id: c.chance(0.05) ? forgedScalar(c, [t.id]) : t.id, ...(c.chance(0.3) ? { tenantId: forgedTenant(t, c, pool) } : {}) }),
  },
  // Privacy reads the recipient from the representation (@requires): a forged recipientSubjectId must find nothing of another tenant.
  {
    name: 'privacy:Shipment',
    subgraph: 'privacy',
    typename: 'Shipment',
    targets: ['shipment'],
    representation: (t, c, pool) => ({
      id: t.id,
      recipientSubjectId: c.chance(0.4) && t.recipientSubjectId ? t.recipientSubjectId : forgedScalar(c, pool.subjectIds),
      ...(c.chance(0.3) ? { tenantId: forgedTenant(t, c, pool) } : {}),
    }),
  },
  {
    name: 'privacy:User',
    subgraph: 'privacy',
    typename: 'User',
    targets: ['user', 'subject'],
    representation: (t, c, pool) => ({ id: c.chance(0.5) ? t.id : c.pick(pool.subjectIds), ...(c.chance(0.3) ? { tenantId: forgedTenant(t, c, pool) } : {}) }),
  },
];
