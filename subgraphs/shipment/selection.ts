/**
 * Selection-driven reads: a personal value the operation does not select is
 * not fetched, so it is not decrypted either (≈ 5 µs per value: a
 * 50-shipment list with three events each that shows no personal field
 * used to decrypt ≈ 750 values).
 *
 * Once per operation (cached by its parsed document) the planner walks the
 * whole operation — fragments, inline fragments and the gateway's
 * `_entities` queries alike, by type — and notes which encrypted fields of
 * `Shipment` and `TrackingEvent` are selected anywhere, and which of their
 * subfields, and which plain fields of events. One DataLoader serves every
 * field of a request, so the plan is the union over the operation. It falls
 * back to whole documents for anything it cannot vouch for: mutations
 * (reveal, writes), a field of either type it does not know, a fragment it
 * cannot find. Of shipments only encrypted fields and bookkeeping are left
 * out — the fields resolvers and policies read (tenant, region, data tags,
 * subject, status …) are always fetched; of events, which no policy reads
 * and which are most of a list's bytes, every field not selected except
 * identity, ownership and order.
 *
 * Reads that serve business rules or writes (updates, status changes,
 * `shipmentsByRecipientContact`, which compares decrypted contacts) do not
 * use a plan: they read whole documents.
 *
 * Shipments seal their personal values in one document envelope: a plan
 * reads it whole when the operation selects any personal field of a
 * shipment (one decryption per shipment however many are selected), and
 * leaves it out when it selects none (none at all).
 */
import { getNamedType, isAbstractType, isObjectType, Kind, type FieldNode, type GraphQLNamedType, type GraphQLObjectType, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type { Model } from 'mongoose';
import { encryptedFieldsOf } from '../../lib/crypto/model-encryption';
import type { ShipmentModels } from './model';
import { SHIPMENT_FIELDS, TRACKING_EVENT_FIELDS } from './records';

/** A mongoose projection of shipment reads: all exclusions (top-level fields) or all inclusions. */
export type ShipmentProjection = Readonly<Record<string, 0 | 1>>;

/** What the events pipeline returns of each event. */
export interface EventReads {
  /** Top-level fields kept: of those the record maps, the ones always kept (`EVENT_ALWAYS`) and the ones selected. */
  readonly fields: readonly string[];
  /** Encrypted subfields removed from the returned events before decryption (selected parents, unselected children). */
  readonly strip: readonly string[];
}

export interface ReadPlan {
  /** Projection of shipment reads; undefined: whole documents. */
  readonly shipments?: ShipmentProjection;
  readonly events: EventReads;
}

/** The parts of a resolver's `info` the planner reads. */
export type OperationInfo = Pick<GraphQLResolveInfo, 'schema' | 'operation' | 'fragments'>;

/**
 * Fields of each type that read no encrypted stored path (stored under the
 * same name outside the encrypted fields, or resolved from such fields).
 * Selecting any other field of these types — one the schema gains later —
 * makes the plan read whole documents until it is listed here.
 */
const PLAIN_FIELDS = {
  Shipment: new Set([
    'id', 'tenantId', 'carrier', 'trackingNumber', 'serviceLevel', 'status', 'statusDetail', 'eta', 'originalEta', 'isReturn', 'region',
    'dataTags', 'customs', 'parcels', 'events', 'latestEvent', 'recipientSubjectId', 'publicTrackingToken', 'createdAt', 'updatedAt',
  ]),
  TrackingEvent: new Set([
    'id', 'shipmentId', 'occurredAt', 'utcOffsetMinutes', 'recordedAt', 'status', 'subStatus', 'rawCarrierCode', 'message', 'source',
    'bizStep', 'disposition', 'clientEventId',
  ]),
} as const;

type Tracked = keyof typeof PLAIN_FIELDS;

/**
 * What event reads keep whatever the operation selects: identity and
 * ownership, the order and cursors (`occurredAt`), and what decryption
 * binds. Every other field of an event is read only when selected: events
 * are most of a list's bytes, and nothing reads an event field but its own
 * default resolver (events carry no object policy: their shipment's guard
 * them).
 */
const EVENT_ALWAYS: readonly string[] = ['_id', 'tenantId', 'shipmentId', 'recipientSubjectId', 'occurredAt'];
/** The stored field of a plain TrackingEvent field, where its name differs. */
const EVENT_STORED_AS: Readonly<Record<string, string>> = { id: '_id' };
const isTracked = (name: string): name is Tracked => name === 'Shipment' || name === 'TrackingEvent';

/** A stored shape as the planner needs it. */
interface Shape {
  /** The top-level stored fields the record is built from (`_id` included). */
  mapped: readonly string[];
  /** Top-level stored fields no record shows. */
  bookkeeping: readonly string[];
  /** Each top-level field holding encrypted paths: null when it is encrypted itself, else its encrypted subfields. */
  encrypted: ReadonlyMap<string, ReadonlySet<string> | null>;
  /** The subfields of each embedded field in `encrypted`, from the schema. */
  subfields: ReadonlyMap<string, readonly string[]>;
}

function shapeOf(model: Model<any>, mapped: readonly string[]): Shape {
  // A document envelope is not bookkeeping: it holds the encrypted fields, and goes with them (withEnvelope).
  const envelope = envelopeOf(model);
  const top = [...new Set(Object.keys(model.schema.paths).map((p) => p.split('.')[0]))].filter((f) => f !== envelope);
  const encrypted = new Map<string, Set<string> | null>();
  for (const path of encryptedFieldsOf(model)?.paths ?? []) {
    const [root, sub] = path.split('.');
    if (sub === undefined) encrypted.set(root, null);
    else if (encrypted.get(root) !== null) encrypted.set(root, (encrypted.get(root) ?? new Set<string>()).add(sub));
  }
  const subfields = new Map<string, string[]>();
  for (const root of encrypted.keys()) {
    const nested = (model.schema.path(root) as { schema?: { paths: Record<string, unknown> } } | undefined)?.schema;
    if (nested) subfields.set(root, [...new Set(Object.keys(nested.paths).map((p) => p.split('.')[0]))]);
  }
  // An encrypted field the record does not map is never fetched by a planned read, which is only right for bookkeeping.
  for (const root of encrypted.keys()) if (!mapped.includes(root)) throw new Error(`selection: encrypted field ${root} is not mapped to the record`);
  return { mapped, bookkeeping: top.filter((f) => f !== '_id' && !mapped.includes(f)), encrypted, subfields };
}

/** What an operation selects of one type's encrypted fields: the field → its subfields selected, or 'all'. */
type Picked = Map<string, Set<string> | 'all'>;

/** The field of the model's document envelope (undefined: an envelope per field). */
function envelopeOf(model: Model<any>): string | undefined {
  const spec = encryptedFieldsOf(model);
  return spec?.envelope === 'document' ? spec.envelopeField : undefined;
}

/** Whether the operation selects an encrypted value itself (not just a field of an object holding some, or its __typename). */
function picksEncrypted(shape: Shape, picked: Picked): boolean {
  for (const [root, p] of picked) {
    const enc = shape.encrypted.get(root);
    if (enc === undefined) continue;
    if (enc === null || p === 'all' || [...p].some((s) => enc.has(s))) return true;
  }
  return false;
}

/**
 * The projection of shipments with a document envelope: the envelope goes
 * with its values — in when the operation selects any of them (opened once,
 * whatever it selects), out when it selects none, and then no object needs
 * trimming either (their encrypted fields are not stored in them; an object
 * selected for its `__typename` is there, stored empty).
 */
function withEnvelope(shape: Shape, trim: Trim, envelope: string, encrypted: boolean): ShipmentProjection {
  if (!encrypted) return { ...shipmentProjection(shape, { omit: trim.omit, partial: new Map() }), [envelope]: 0 };
  const projection = shipmentProjection(shape, trim);
  // Exclusions keep it already.
  return Object.values(projection).some((v) => v === 1) ? { ...projection, [envelope]: 1 } : projection;
}

// Deeper than any operation the gateway's limits admit; past it the walk gives up and reads everything.
const MAX_FRAGMENT_DEPTH = 64;

class SelectionWalk {
  unsure = false;
  readonly picked: Record<Tracked, Picked> = { Shipment: new Map(), TrackingEvent: new Map() };
  /** Plain fields selected on each type. */
  readonly plain: Record<Tracked, Set<string>> = { Shipment: new Set(), TrackingEvent: new Set() };

  constructor(
    private readonly info: OperationInfo,
    private readonly encrypted: Record<Tracked, ReadonlyMap<string, ReadonlySet<string> | null>>,
  ) {}

  /** Every field of `set` as selected on each of `types`, through fragment spreads and inline fragments (@skip/@include ignored: they only narrow). */
  private fields(set: SelectionSetNode, types: readonly GraphQLObjectType[], out: Array<[GraphQLObjectType, FieldNode]> = [], depth = 0): Array<[GraphQLObjectType, FieldNode]> {
    if (depth > MAX_FRAGMENT_DEPTH) {
      this.unsure = true;
      return out;
    }
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        for (const t of types) out.push([t, sel]);
        continue;
      }
      const fragment = sel.kind === Kind.INLINE_FRAGMENT ? sel : this.info.fragments[sel.name.value];
      if (!fragment) {
        this.unsure = true;
        continue;
      }
      const cond = fragment.typeCondition ? this.info.schema.getType(fragment.typeCondition.name.value) : undefined;
      if (fragment.typeCondition && !cond) {
        this.unsure = true;
        continue;
      }
      const narrowed = cond ? types.filter((t) => t === cond || (isAbstractType(cond) && this.info.schema.isSubType(cond, t))) : types;
      if (narrowed.length) this.fields(fragment.selectionSet, narrowed, out, depth + 1);
    }
    return out;
  }

  private concrete(type: GraphQLNamedType): readonly GraphQLObjectType[] {
    if (isObjectType(type)) return [type];
    if (isAbstractType(type)) return this.info.schema.getPossibleTypes(type);
    return [];
  }

  visit(set: SelectionSetNode, types: readonly GraphQLObjectType[]): void {
    for (const [type, node] of this.fields(set, types)) {
      const name = node.name.value;
      if (name.startsWith('__')) continue;
      const field = type.getFields()[name];
      if (!field) {
        this.unsure = true;
        continue;
      }
      if (isTracked(type.name)) {
        if (this.encrypted[type.name].has(name)) this.pick(type.name, name, node, getNamedType(field.type));
        else if (PLAIN_FIELDS[type.name].has(name)) this.plain[type.name].add(name);
        else this.unsure = true;
      }
      if (node.selectionSet) this.visit(node.selectionSet, this.concrete(getNamedType(field.type)));
    }
  }

  private pick(tracked: Tracked, root: string, node: FieldNode, type: GraphQLNamedType): void {
    const picked = this.picked[tracked];
    const current = picked.get(root);
    if (current === 'all') return;
    if (this.encrypted[tracked].get(root) === null || !node.selectionSet) {
      picked.set(root, 'all');
      return;
    }
    const subs = current ?? new Set<string>();
    for (const [, sub] of this.fields(node.selectionSet, this.concrete(type))) if (!sub.name.value.startsWith('__')) subs.add(sub.name.value);
    picked.set(root, subs);
  }
}

/** What to leave out of one type's reads. */
interface Trim {
  /** Encrypted top-level fields not selected at all. */
  omit: string[];
  /** Selected embedded fields of which some encrypted subfields are not: the subfields to keep, and those to leave out. */
  partial: Map<string, { keep: readonly string[]; drop: readonly string[] }>;
}

function trimOf(shape: Shape, picked: Picked): Trim {
  const omit: string[] = [];
  const partial = new Map<string, { keep: string[]; drop: string[] }>();
  for (const [root, enc] of shape.encrypted) {
    const p = picked.get(root);
    if (p === undefined) {
      omit.push(root);
      continue;
    }
    if (p === 'all' || enc === null) continue;
    const drop = [...enc].filter((s) => !p.has(s));
    const subfields = shape.subfields.get(root);
    // A subfield the stored shape does not know: read the field whole.
    if (!drop.length || !subfields || [...p].some((s) => !subfields.includes(s))) continue;
    const keep = subfields.filter((s) => !drop.includes(s));
    // Nothing left to tell a null field from a present one (`recipient { __typename }`): read it whole.
    if (keep.length) partial.set(root, { keep, drop });
  }
  return { omit, partial };
}

/**
 * The projection of shipment reads: top-level exclusions when that is
 * enough; inclusions when an embedded field is read in part. Not dotted
 * exclusions (`'origin.line1': 0`), the simpler form for mongod: devdb's
 * `find` applies those to its stored document itself and loses the value.
 */
function shipmentProjection(shape: Shape, trim: Trim): ShipmentProjection {
  const out: Record<string, 0 | 1> = {};
  if (!trim.partial.size) {
    for (const f of [...shape.bookkeeping, ...trim.omit]) out[f] = 0;
    return out;
  }
  for (const f of shape.mapped) {
    if (trim.omit.includes(f)) continue;
    const part = trim.partial.get(f);
    if (part) for (const s of part.keep) out[`${f}.${s}`] = 1;
    else out[f] = 1;
  }
  return out;
}

/**
 * The events pipeline's trim: top-level fields only (the pipeline builds
 * each event from them, tracking.ts) — those always kept, the plain ones
 * selected and the encrypted ones selected; encrypted subfields of selected
 * fields are removed from the returned events before they are decrypted.
 */
function eventReads(shape: Shape, trim: Trim, plain: ReadonlySet<string>): EventReads {
  const wanted = new Set([...EVENT_ALWAYS, ...[...plain].map((f) => EVENT_STORED_AS[f] ?? f)]);
  return {
    fields: shape.mapped.filter((f) => (wanted.has(f) || shape.encrypted.has(f)) && !trim.omit.includes(f)),
    strip: [...trim.partial].flatMap(([root, { drop }]) => drop.map((s) => `${root}.${s}`)),
  };
}

/** Removes dotted `paths` from each document, in place (documents just read: nobody else holds them). */
export function stripPaths(docs: readonly object[], paths: readonly string[]): void {
  if (!paths.length) return;
  const split = paths.map((p) => p.split('.'));
  for (const doc of docs) {
    for (const parts of split) {
      let o: unknown = doc;
      for (let i = 0; i < parts.length - 1 && o !== null && typeof o === 'object'; i++) o = (o as Record<string, unknown>)[parts[i]];
      if (o !== null && typeof o === 'object') delete (o as Record<string, unknown>)[parts[parts.length - 1]];
    }
  }
}

/** Plans the reads of each operation; one per subgraph (its models). */
export class ReadPlanner {
  /** Whole documents (events without their bookkeeping, which no record shows). */
  readonly full: ReadPlan;
  private readonly shapes: Record<Tracked, Shape>;
  private readonly encrypted: Record<Tracked, ReadonlyMap<string, ReadonlySet<string> | null>>;
  // Apollo keeps a parsed document per query text, so a repeated operation is planned once.
  private readonly cache = new WeakMap<object, { schema: object; plan: ReadPlan }>();

  /** Where shipments keep their document envelope (undefined: an envelope per field). */
  private readonly envelope: string | undefined;

  constructor(models: Pick<ShipmentModels, 'Shipment' | 'TrackingEvent'>) {
    this.envelope = envelopeOf(models.Shipment);
    this.shapes = { Shipment: shapeOf(models.Shipment, SHIPMENT_FIELDS), TrackingEvent: shapeOf(models.TrackingEvent, TRACKING_EVENT_FIELDS) };
    this.encrypted = { Shipment: this.shapes.Shipment.encrypted, TrackingEvent: this.shapes.TrackingEvent.encrypted };
    // The plain event fields this file knows must each name a field the record maps, or a selected one would read as null.
    for (const f of [...PLAIN_FIELDS.TrackingEvent].map((x) => EVENT_STORED_AS[x] ?? x)) {
      if (!this.shapes.TrackingEvent.mapped.includes(f)) throw new Error(`selection: TrackingEvent field ${f} is not mapped to the record`);
    }
    this.full = Object.freeze({ events: Object.freeze({ fields: this.shapes.TrackingEvent.mapped, strip: [] }) });
  }

  /** The plan of the operation `info` belongs to. */
  plan(info: OperationInfo): ReadPlan {
    const cached = this.cache.get(info.operation);
    if (cached && cached.schema === info.schema) return cached.plan;
    const plan = this.compute(info);
    this.cache.set(info.operation, { schema: info.schema, plan });
    return plan;
  }

  private compute(info: OperationInfo): ReadPlan {
    // Mutations read what their rules need, reveal included; subscriptions do not exist here.
    if (info.operation.operation !== 'query') return this.full;
    const root = info.schema.getQueryType();
    if (!root) return this.full;
    const walk = new SelectionWalk(info, this.encrypted);
    walk.visit(info.operation.selectionSet, [root]);
    if (walk.unsure) return this.full;
    const trim = trimOf(this.shapes.Shipment, walk.picked.Shipment);
    const shipments = this.envelope
      ? withEnvelope(this.shapes.Shipment, trim, this.envelope, picksEncrypted(this.shapes.Shipment, walk.picked.Shipment))
      : shipmentProjection(this.shapes.Shipment, trim);
    return Object.freeze({
      shipments: Object.freeze(shipments),
      events: Object.freeze(eventReads(this.shapes.TrackingEvent, trimOf(this.shapes.TrackingEvent, walk.picked.TrackingEvent), walk.plain.TrackingEvent)),
    });
  }
}

const planners = new WeakMap<object, ReadPlanner>();

/** The planner of these models, made once (the subgraph's, and services built per request, share it). */
export function readPlannerOf(models: Pick<ShipmentModels, 'Shipment' | 'TrackingEvent'>): ReadPlanner {
  let p = planners.get(models.Shipment);
  if (!p) planners.set(models.Shipment, (p = new ReadPlanner(models)));
  return p;
}

/** Event reads without a plan: every field a record shows. */
export function fullEventReads(models: Pick<ShipmentModels, 'Shipment' | 'TrackingEvent'>): EventReads {
  return readPlannerOf(models).full.events;
}
