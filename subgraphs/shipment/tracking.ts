/**
 * Tracking events: recording them idempotently and moving the shipment's
 * status through the status machine (status.ts), reading them in batches
 * for `Shipment.events` / `latestEvent`, and the anonymous public tracking
 * view. No GraphQL here.
 */
import { createHash } from 'node:crypto';
import { actorOf, recordFilter, tenantFilter, tenantMatch, type Caller, type WriteContext } from '../../lib/caller';
import type { DataScope } from '../../lib/context';
import { decryptDocuments } from '../../lib/crypto/model-encryption';
import { isDuplicateKey } from '../../lib/errors';
import { ConcurrentUpdateError, IdempotencyKeyReusedError, InvalidInputError, ShipmentNotFoundError } from './errors';
import { newId, type EventSource, type ProofOfDeliveryDoc, type ShipmentDoc, type ShipmentModels, type TrackingEventDoc } from './model';
import { toTrackingEvent, type Clock, type TrackingEvent } from './records';
import { fullEventReads, stripPaths, type EventReads } from './selection';
import { decide, type ShipmentStatus } from './status';
import { PresentedToken } from './tokens';
import * as v from './validation';

const MAX_WRITE_ATTEMPTS = 5;
/** Proof-of-delivery images are kept about 30 days (DOMAIN.md retention defaults). */
export const POD_RETENTION_DAYS = 30;
/** Events shown on the public tracking view. */
export const PUBLIC_EVENT_LIMIT = 100;
/** Shipments sharing a recycled number that public tracking compares the token against. */
const PUBLIC_CANDIDATES = 20;

export interface ProofOfDeliveryInput {
  outcome: 'SUCCEEDED' | 'FAILED';
  failureReason?: string | null;
  signerName?: string | null;
  signerRelationship?: string | null;
  signatureRef?: string | null;
  photoRefs?: string[] | null;
  scannedBarcodes?: string[] | null;
  pinVerified?: boolean | null;
  geo?: v.GeoPointInput | null;
  capturedAt: Date;
}

export interface RecordTrackingEventInput {
  shipmentId: string;
  clientEventId: string;
  occurredAt: Date;
  utcOffsetMinutes?: number | null;
  status: ShipmentStatus;
  subStatus?: { code: string; text?: string | null; actionRequired?: boolean | null } | null;
  rawCarrierCode?: string | null;
  message?: string | null;
  bizStep?: string | null;
  disposition?: string | null;
  location?: { city?: string | null; region?: string | null; postalCode?: string | null; countryIso3?: string | null; readPoint?: string | null } | null;
  coordinates?: v.GeoPointInput | null;
  eta?: Date | null;
  proofOfDelivery?: ProofOfDeliveryInput | null;
}

/** A page's worth of a shipment's events, newest first, and how many it has in all. */
export interface EventHistory {
  total: number;
  events: TrackingEvent[];
}

export interface PublicTrackingView {
  carrier: string;
  status: ShipmentStatus;
  statusDetail: string | null;
  eta: Date | null;
  events: Array<{
    occurredAt: Date;
    status: ShipmentStatus;
    message: string | null;
    location: { city: string | null; region: string | null; countryIso3: string | null } | null;
  }>;
}

/**
 * Who reported an event, from the caller (never from the input).
 * PLACEHOLDER until device tokens carry the device kind: a DEVICE is taken
 * for a sensor, a system caller for a carrier feed.
 */
export function sourceOf(caller: Caller): EventSource {
  if (caller.kind === 'system') return 'CARRIER';
  if (caller.roles.includes('DEVICE')) return 'SENSOR';
  if (caller.roles.includes('DRIVER')) return 'DRIVER_SCAN';
  if (caller.roles.includes('PARTNER')) return 'CARRIER';
  return 'MANUAL';
}

/** JSON with sorted keys and dates as ISO strings: the same payload always hashes the same. */
function canonical(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** The event's fields as we store them: validated, trimmed, defaults filled. */
function normaliseEvent(input: RecordTrackingEventInput, now: Date) {
  const loc = input.location ?? null;
  const sub = input.subStatus ?? null;
  return {
    occurredAt: v.pastInstant(input.occurredAt, 'occurredAt', now),
    utcOffsetMinutes: v.utcOffset(input.utcOffsetMinutes),
    status: input.status,
    subStatus: sub
      ? { code: v.reqText(sub.code, 'subStatus.code', 64), text: v.optText(sub.text, 'subStatus.text', 500), actionRequired: sub.actionRequired ?? false }
      : null,
    rawCarrierCode: v.optText(input.rawCarrierCode, 'rawCarrierCode', 64),
    message: v.optText(input.message, 'message', 500),
    bizStep: v.optText(input.bizStep, 'bizStep', 200),
    disposition: v.optText(input.disposition, 'disposition', 200),
    location: loc
      ? {
          city: v.optText(loc.city, 'location.city', 100),
          region: v.optText(loc.region, 'location.region', 100),
          postalCode: v.optText(loc.postalCode, 'location.postalCode', 20),
          countryIso3: loc.countryIso3 ? v.country(loc.countryIso3, 'location.countryIso3') : null,
          readPoint: v.optText(loc.readPoint, 'location.readPoint', 200),
        }
      : null,
    coordinates: input.coordinates ? v.geoPoint(input.coordinates, 'coordinates') : null,
    eta: input.eta ?? null,
  };
}

function normaliseProof(input: ProofOfDeliveryInput, status: ShipmentStatus, now: Date) {
  const failureReason = v.optText(input.failureReason, 'proofOfDelivery.failureReason', 100);
  v.checkProofMatchesEvent(status, input.outcome, failureReason);
  const refs = (list: string[] | null | undefined, field: string, max: number) => {
    if (!list) return null;
    if (list.length > max) throw new InvalidInputError(field, `must hold at most ${max} entries`);
    return list.map((x, i) => v.optText(x, `${field}.${i}`, 500) ?? '').filter(Boolean);
  };
  return {
    outcome: input.outcome,
    failureReason,
    signerName: v.optText(input.signerName, 'proofOfDelivery.signerName'),
    signerRelationship: v.optText(input.signerRelationship, 'proofOfDelivery.signerRelationship', 64),
    signatureRef: v.optText(input.signatureRef, 'proofOfDelivery.signatureRef', 500),
    photoRefs: refs(input.photoRefs, 'proofOfDelivery.photoRefs', 20),
    scannedBarcodes: refs(input.scannedBarcodes, 'proofOfDelivery.scannedBarcodes', 100) ?? [],
    pinVerified: input.pinVerified ?? false,
    geo: input.geo ? v.geoPoint(input.geo, 'proofOfDelivery.geo') : null,
    capturedAt: v.pastInstant(input.capturedAt, 'proofOfDelivery.capturedAt', now),
  };
}

export type NormalisedEvent = ReturnType<typeof normaliseEvent>;
export type NormalisedProof = ReturnType<typeof normaliseProof>;

/** What tells a replay (same payload) from a reused key (different payload): SHA-256 of the normalised input. */
export function eventFingerprint(fields: NormalisedEvent, proof: NormalisedProof | null): string {
  return createHash('sha256').update(canonical({ ...fields, proofOfDelivery: proof })).digest('hex');
}

export class TrackingService {
  private readonly fullReads: EventReads;

  constructor(
    private readonly models: ShipmentModels,
    private readonly now: Clock = () => new Date(),
  ) {
    this.fullReads = fullEventReads(models);
  }

  /**
   * Records an event once per (tenant, shipment, clientEventId) and moves the
   * shipment's status when the status machine says so. A repeat with the
   * same payload returns the first event (finishing its shipment update if
   * the first attempt was cut short).
   *
   * @throws ShipmentNotFoundError for an unknown id or another tenant's shipment
   * @throws IdempotencyKeyReusedError when the key was used with a different payload
   * @throws InvalidInputError when a field is malformed
   */
  async recordTrackingEvent(input: RecordTrackingEventInput, ctx: WriteContext): Promise<TrackingEvent> {
    const now = this.now();
    const clientEventId = v.clientEventId(input.clientEventId);
    const fields = normaliseEvent(input, now);
    const proof = input.proofOfDelivery ? normaliseProof(input.proofOfDelivery, fields.status, now) : null;
    const fingerprint = eventFingerprint(fields, proof);

    const shipment = await this.models.Shipment.findOne({ _id: input.shipmentId, ...tenantFilter(ctx.scope), ...recordFilter(ctx.scope) })
      .select({ _id: 1, tenantId: 1, recipientSubjectId: 1 })
      .lean<Pick<ShipmentDoc, '_id' | 'tenantId' | 'recipientSubjectId'>>()
      .exec();
    if (!shipment) throw new ShipmentNotFoundError();
    const key = { tenantId: shipment.tenantId, shipmentId: shipment._id, clientEventId };

    let doc = await this.models.TrackingEvent.findOne(key).lean<TrackingEventDoc>().exec();
    let replay = doc !== null;
    if (!doc) {
      const fresh: TrackingEventDoc = {
        _id: newId(),
        ...key,
        recipientSubjectId: shipment.recipientSubjectId,
        fingerprint,
        ...fields,
        recordedAt: now,
        source: sourceOf(ctx.caller),
        reportedBy: actorOf(ctx.caller),
        statusApplied: false,
        processed: false,
      };
      try {
        await this.models.TrackingEvent.create(fresh);
        doc = fresh;
      } catch (err) {
        // A concurrent request with the same key won the insert: answer as a replay.
        if (!isDuplicateKey(err)) throw err;
        doc = await this.models.TrackingEvent.findOne(key).lean<TrackingEventDoc>().exec();
        if (!doc) throw err;
        replay = true;
      }
    }
    if (doc.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError('clientEventId', { field: 'clientEventId' });
    if (doc.processed) return toTrackingEvent(doc);

    const statusApplied = await this.applyToShipment(doc, proof);
    await this.models.TrackingEvent.updateOne({ _id: doc._id }, { $set: { processed: true, statusApplied } }).exec();
    if (!replay) {
      await ctx.audit.record({
        type: 'tracking_event.recorded',
        actor: actorOf(ctx.caller),
        tenantId: doc.tenantId,
        target: `Shipment:${doc.shipmentId}`,
        requestId: ctx.requestId,
        details: { eventId: doc._id, status: doc.status, statusApplied, source: doc.source, proofOfDelivery: proof !== null },
      });
    }
    return toTrackingEvent({ ...doc, processed: true, statusApplied });
  }

  /** Moves the shipment from one stored event; true when its status changed. Retries on concurrent writes. */
  private async applyToShipment(event: TrackingEventDoc, proof: NormalisedProof | null): Promise<boolean> {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const s = await this.models.Shipment.findOne({ _id: event.shipmentId, tenantId: event.tenantId }).lean<ShipmentDoc>().exec();
      if (!s) throw new ShipmentNotFoundError();
      const decision = decide({ status: s.status, progressRank: s.progressRank, lastAppliedAt: s.lastAppliedAt }, event);
      const late = s.lastAppliedAt !== null && event.occurredAt.getTime() < s.lastAppliedAt.getTime();
      const set: Partial<ShipmentDoc> = {};
      if (decision.applied) {
        set.status = decision.next.status;
        set.progressRank = decision.next.progressRank;
        set.lastAppliedAt = decision.next.lastAppliedAt;
        set.statusDetail = event.message ?? event.subStatus?.text ?? null;
      }
      if (event.eta && !late) {
        set.eta = event.eta;
        if (!s.originalEta) set.originalEta = event.eta;
      }
      // The proof of the last attempt wins, whatever order the proofs arrive in.
      if (proof && (!s.proofOfDelivery || proof.capturedAt.getTime() >= new Date(s.proofOfDelivery.capturedAt).getTime())) {
        const pod: ProofOfDeliveryDoc = {
          ...proof,
          deviceId: null,
          retainUntil: new Date(proof.capturedAt.getTime() + POD_RETENTION_DAYS * 24 * 60 * 60 * 1000),
          eventId: event._id,
        };
        set.proofOfDelivery = pod;
      }
      if (!Object.keys(set).length) return false;
      // Tenant and recipient in the filter: the encryption plugin binds a new proof of delivery to them without another read.
      const res = await this.models.Shipment.updateOne(
        { _id: s._id, tenantId: s.tenantId, recipientSubjectId: s.recipientSubjectId, rev: s.rev },
        { $set: { ...set, updatedAt: this.now() }, $inc: { rev: 1 } },
      ).exec();
      if (res.matchedCount === 1) return decision.applied;
    }
    throw new ConcurrentUpdateError('shipment');
  }

  /**
   * The events of many shipments in one query, newest first (by
   * `occurredAt`, then id), with each shipment's total. `limit` caps the
   * events returned per shipment; omit it to get all (pages after a cursor).
   * `reads` (a read plan's, selection.ts) leaves out the fields nobody will
   * read, personal ones above all; by default every field a record shows.
   */
  async eventHistories(scope: DataScope, shipmentIds: readonly string[], limit?: number, reads: EventReads = this.fullReads): Promise<Map<string, EventHistory>> {
    // Each group keeps its page's worth of events (not the whole history), each event only the fields its record
    // shows and the operation selects: an expression evaluated for the kept events alone, where a `$project` stage
    // would rework every matched event (and put devdb's aggregation on its copying path). A field a stored event lacks
    // is left out by mongod and null from devdb: its record reads the same.
    const event = Object.fromEntries(reads.fields.map((f) => [f, `$${f}`]));
    const pipeline: Record<string, unknown>[] = [
      { $match: { shipmentId: { $in: [...shipmentIds] }, ...tenantMatch(scope) } },
      { $sort: { occurredAt: -1, _id: -1 } },
      { $group: { _id: '$shipmentId', total: { $sum: 1 }, events: limit === undefined ? { $push: event } : { $firstN: { input: event, n: limit } } } },
    ];
    const rows = await this.models.TrackingEvent.aggregate<{ _id: string; total: number; events: TrackingEventDoc[] }>(pipeline as never).exec();
    const events = rows.flatMap((r) => r.events);
    stripPaths(events, reads.strip);
    // aggregate bypasses the plugin's read hooks: decrypt the events here, one key-vault round trip for the page.
    await decryptDocuments(this.models.TrackingEvent, events);
    return new Map(rows.map((r) => [r._id, { total: r.total, events: r.events.map(toTrackingEvent) }]));
  }

  /**
   * The anonymous tracking view, or null when the number is unknown or the
   * token is wrong (the same answer, in about the same time: the token is
   * compared against a dummy hash when no shipment has the number). Not
   * tenant-scoped: the token is the authorisation. Reads only the fields the
   * view shows.
   */
  async publicTracking(trackingNumber: string, token: string): Promise<PublicTrackingView | null> {
    const presented = new PresentedToken(token);
    const number = v.normaliseTrackingNumber(trackingNumber);
    const candidates = number
      ? await this.models.Shipment.find({ trackingNumber: number })
          .sort({ createdAt: -1 })
          .limit(PUBLIC_CANDIDATES)
          .select({ _id: 1, tenantId: 1, carrier: 1, status: 1, statusDetail: 1, eta: 1, publicTokenHash: 1 })
          .lean<Array<Pick<ShipmentDoc, '_id' | 'tenantId' | 'carrier' | 'status' | 'statusDetail' | 'eta' | 'publicTokenHash'>>>()
          .exec()
      : [];
    if (!candidates.length) presented.matches(null);
    // Compare against every candidate, not just until the first match.
    const matches = candidates.filter((c) => presented.matches(c.publicTokenHash));
    const shipment = matches[0];
    if (!shipment) return null;
    const events = await this.models.TrackingEvent.find({ shipmentId: shipment._id, tenantId: shipment.tenantId })
      .sort({ occurredAt: -1, _id: -1 })
      .limit(PUBLIC_EVENT_LIMIT)
      .select({ occurredAt: 1, status: 1, message: 1, 'location.city': 1, 'location.region': 1, 'location.countryIso3': 1 })
      .lean<Array<Pick<TrackingEventDoc, 'occurredAt' | 'status' | 'message' | 'location'>>>()
      .exec();
    return {
      carrier: shipment.carrier,
      status: shipment.status,
      statusDetail: shipment.statusDetail ?? null,
      eta: shipment.eta ?? null,
      events: events.map((e) => ({
        occurredAt: e.occurredAt,
        status: e.status,
        message: e.message ?? null,
        location: e.location ? { city: e.location.city ?? null, region: e.location.region ?? null, countryIso3: e.location.countryIso3 ?? null } : null,
      })),
    };
  }
}

