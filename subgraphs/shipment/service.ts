/**
 * Business rules for shipments: who sees which shipment, how shipments are
 * created (tenant from the caller, tracking number unique per tenant,
 * carrier and 180 days, a public token handed out once) and how their
 * details change. Every read takes the caller's `DataScope` and puts it in
 * the database query itself. No GraphQL here.
 */
import { trusted } from 'mongoose';
import { actorOf, recordFilter, tenantFilter, tenantOfCaller, type WriteContext } from '../../lib/caller';
import type { DataScope } from '../../lib/context';
import { blindIndexFilter, blindIndexNormaliser } from '../../lib/crypto/model-encryption';
import { BadUserInputError, isDuplicateKey } from '../../lib/errors';
import type { CursorPosition, PageRequest } from '../../lib/pagination';
import { ConcurrentUpdateError, InvalidInputError, ShipmentNotFoundError, TrackingNumberInUseError } from './errors';
import { claimKey, newId, type RegionCode, type ShipmentDoc, type ShipmentModels } from './model';
import { toShipment, type Clock, type Shipment } from './records';
import type { ShipmentProjection } from './selection';
import type { ShipmentStatus } from './status';
import { hashTrackingToken, newTrackingToken } from './tokens';
import * as v from './validation';

/** Carriers recycle tracking numbers: a number is unique per tenant and carrier within this window. */
export const TRACKING_NUMBER_WINDOW_DAYS = 180;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Region of a shipment whose caller carries none. */
export const DEFAULT_REGION: RegionCode = 'EU';
const MAX_WRITE_ATTEMPTS = 5;
/** `shipmentsByRecipientContact`: results returned, and candidates read (false positives of the blind index included). */
export const CONTACT_LOOKUP_LIMIT = 50;
const CONTACT_LOOKUP_CANDIDATES = 500;

export interface ShipmentFilter {
  status?: ShipmentStatus[] | null;
  carrier?: string | null;
  region?: RegionCode | null;
  trackingNumber?: string | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
}

export interface CreateShipmentInput {
  carrier: string;
  trackingNumber: string;
  serviceLevel?: string | null;
  eta?: Date | null;
  isReturn?: boolean | null;
  origin: v.AddressInput;
  destination: v.AddressInput;
  recipient: v.ContactInput;
  deliveryNotes?: string | null;
  customs?: v.CustomsInput | null;
  parcels: v.ParcelInput[];
}

export interface UpdateShipmentDetailsInput {
  serviceLevel?: string | null;
  eta?: Date | null;
  destination?: v.AddressInput | null;
  recipient?: v.ContactInput | null;
  deliveryNotes?: string | null;
  customs?: v.CustomsInput | null;
}

export interface Page<T> {
  items: T[];
  totalCount: number;
}

/** A cursor of a list sorted by a date: its key must be epoch milliseconds. */
export function dateCursor(pos: CursorPosition): { at: Date; id: string } {
  if (typeof pos.k !== 'number' || !Number.isFinite(pos.k)) throw new BadUserInputError('after is not a valid cursor', { argument: 'after' });
  return { at: new Date(pos.k), id: pos.id };
}

const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

export class ShipmentService {
  constructor(
    private readonly models: ShipmentModels,
    private readonly now: Clock = () => new Date(),
  ) {}

  /**
   * Shipments with these ids that the scope may see, in no particular order.
   * `projection` (a read plan's, selection.ts) leaves out personal fields
   * nobody will read; omit it for whole records.
   */
  async shipmentsByIds(scope: DataScope, ids: readonly string[], projection?: ShipmentProjection): Promise<Shipment[]> {
    const query = this.models.Shipment.find({ _id: trusted({ $in: [...ids] }), ...tenantFilter(scope), ...recordFilter(scope) }, projection).lean<ShipmentDoc[]>();
    const docs = await query.exec();
    return docs.map(toShipment);
  }

  /**
   * Shipments of `tenantId` (within the scope) whose recipient has this
   * email or this phone: candidates by blind index, then confirmed after
   * decryption (a truncated index has false positives). Newest first.
   */
  async shipmentsByRecipientContact(scope: DataScope, tenantId: string, by: { email?: string | null; phone?: string | null }): Promise<Shipment[]> {
    const given = (['email', 'phone'] as const).filter((k) => typeof by[k] === 'string' && by[k]!.trim() !== '');
    if (given.length !== 1) throw new InvalidInputError(given.length ? 'phone' : 'email', 'give exactly one of email and phone');
    const field = given[0];
    const value = by[field]!;
    const index = field === 'email' ? 'recipientEmail' : 'recipientPhone';
    const normalise = blindIndexNormaliser(this.models.Shipment, index);
    const wanted = normalise(value);
    if (!wanted) throw new InvalidInputError(field, field === 'phone' ? 'must contain digits' : 'must not be empty');
    const where = { ...(await blindIndexFilter(this.models.Shipment, tenantId, index, value)), ...tenantFilter(scope), ...recordFilter(scope) };
    const candidates = await this.models.Shipment.find(where).sort({ createdAt: -1, _id: -1 }).limit(CONTACT_LOOKUP_CANDIDATES).lean<ShipmentDoc[]>().exec();
    return candidates
      .filter((d) => {
        const stored = d.recipient?.[field];
        return typeof stored === 'string' && normalise(stored) === wanted;
      })
      .slice(0, CONTACT_LOOKUP_LIMIT)
      .map(toShipment);
  }

  /** One page of the shipments the scope may see, newest first, and how many match the filter; `projection` as for `shipmentsByIds`. */
  async listShipments(scope: DataScope, filter: ShipmentFilter, page: PageRequest, projection?: ShipmentProjection): Promise<Page<Shipment>> {
    const where: Record<string, unknown> = { ...tenantFilter(scope), ...recordFilter(scope) };
    if (filter.status?.length) where.status = trusted({ $in: filter.status });
    if (filter.carrier) where.carrier = filter.carrier.trim().toUpperCase();
    if (filter.region) where.region = filter.region;
    if (filter.trackingNumber) where.trackingNumber = v.normaliseTrackingNumber(filter.trackingNumber) ?? filter.trackingNumber;
    if (filter.createdAfter || filter.createdBefore) {
      where.createdAt = trusted({ ...(filter.createdAfter ? { $gte: filter.createdAfter } : {}), ...(filter.createdBefore ? { $lt: filter.createdBefore } : {}) });
    }
    let pageWhere: Record<string, unknown> = where;
    if (page.after) {
      const { at, id } = dateCursor(page.after);
      pageWhere = { $and: [where, { $or: [{ createdAt: trusted({ $lt: at }) }, { createdAt: at, _id: trusted({ $lt: id }) }] }] };
    }
    const [docs, totalCount] = await Promise.all([
      page.first === 0
        ? Promise.resolve([] as ShipmentDoc[])
        : this.models.Shipment.find(pageWhere, projection).sort({ createdAt: -1, _id: -1 }).limit(page.first + 1).lean<ShipmentDoc[]>().exec(),
      this.models.Shipment.countDocuments(where).exec(),
    ]);
    return { items: docs.map(toShipment), totalCount };
  }

  /**
   * Creates a shipment in the caller's tenant, status PENDING. Returns it
   * with its public tracking token, the only time the token is available.
   *
   * @throws TenantRequiredError when the caller acts for no tenant
   * @throws InvalidInputError when a field is malformed
   * @throws TrackingNumberInUseError when the tenant used the number with this carrier within the window
   */
  async createShipment(input: CreateShipmentInput, ctx: WriteContext & { region?: RegionCode }): Promise<Shipment> {
    const tenantId = tenantOfCaller(ctx.caller);
    const now = this.now();
    const carrier = v.carrierCode(input.carrier);
    const trackingNumber = v.trackingNumber(input.trackingNumber);
    const eta = input.eta ?? null;
    const token = newTrackingToken();
    const doc: ShipmentDoc = {
      _id: newId(),
      tenantId,
      region: ctx.region ?? DEFAULT_REGION,
      carrier,
      trackingNumber,
      serviceLevel: v.optText(input.serviceLevel, 'serviceLevel', 64)?.toUpperCase() ?? null,
      status: 'PENDING',
      statusDetail: null,
      progressRank: 0,
      lastAppliedAt: null,
      eta,
      originalEta: eta,
      isReturn: input.isReturn ?? false,
      origin: v.address(input.origin, 'origin'),
      destination: v.address(input.destination, 'destination'),
      recipient: v.contact(input.recipient, 'recipient'),
      deliveryNotes: v.optText(input.deliveryNotes, 'deliveryNotes', 1000),
      customs: input.customs ? v.customs(input.customs, 'customs') : null,
      parcels: v.parcels(input.parcels),
      // A fresh pseudonym per shipment: the privacy subgraph keys the recipient's settings by it.
      recipientSubjectId: newId(),
      publicTokenHash: hashTrackingToken(token),
      proofOfDelivery: null,
      rev: 0,
      createdAt: now,
      updatedAt: now,
    };
    const cutoff = new Date(now.getTime() - TRACKING_NUMBER_WINDOW_DAYS * DAY_MS);
    // The rule itself: no shipment of the tenant with this carrier and number inside the window.
    const clash = await this.models.Shipment.exists({ tenantId, carrier, trackingNumber, createdAt: trusted({ $gte: cutoff }) }).exec();
    if (clash) throw new TrackingNumberInUseError(TRACKING_NUMBER_WINDOW_DAYS);
    await this.models.Shipment.create(doc);
    // The claim makes the rule race-free: of two concurrent creates, one insert of the claim fails on the `_id` index.
    try {
      await this.models.TrackingNumberClaim.updateOne(
        { _id: claimKey(tenantId, carrier, trackingNumber), claimedAt: trusted({ $lte: cutoff }) },
        { $set: { tenantId, carrier, trackingNumber, shipmentId: doc._id, claimedAt: now } },
        { upsert: true },
      ).exec();
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      await this.models.Shipment.deleteOne({ _id: doc._id }).exec();
      throw new TrackingNumberInUseError(TRACKING_NUMBER_WINDOW_DAYS);
    }
    await ctx.audit.record({
      type: 'shipment.created',
      actor: actorOf(ctx.caller),
      tenantId,
      target: `Shipment:${doc._id}`,
      requestId: ctx.requestId,
      details: { carrier, region: doc.region, parcels: doc.parcels.length, crossBorder: doc.customs !== null, isReturn: doc.isReturn },
    });
    return { ...toShipment(doc), publicTrackingToken: token };
  }

  /**
   * Changes only the fields `input` lists. Status changes only through
   * tracking events; `originalEta` keeps the first ETA ever set.
   *
   * @throws ShipmentNotFoundError for an unknown id or another tenant's shipment
   * @throws InvalidInputError when the input lists no field or a field is malformed
   */
  async updateShipmentDetails(id: string, input: UpdateShipmentDetailsInput, ctx: WriteContext): Promise<Shipment> {
    const set: Partial<ShipmentDoc> = {};
    if (has(input, 'serviceLevel')) set.serviceLevel = v.optText(input.serviceLevel, 'serviceLevel', 64)?.toUpperCase() ?? null;
    if (has(input, 'eta')) set.eta = input.eta ?? null;
    if (has(input, 'destination')) {
      if (!input.destination) throw new InvalidInputError('destination', 'cannot be removed');
      set.destination = v.address(input.destination, 'destination');
    }
    if (has(input, 'recipient')) {
      if (!input.recipient) throw new InvalidInputError('recipient', 'cannot be removed');
      set.recipient = v.contact(input.recipient, 'recipient');
    }
    if (has(input, 'deliveryNotes')) set.deliveryNotes = v.optText(input.deliveryNotes, 'deliveryNotes', 1000);
    if (has(input, 'customs')) set.customs = input.customs ? v.customs(input.customs, 'customs') : null;
    const fields = Object.keys(set);
    if (!fields.length) throw new InvalidInputError('input', 'must list at least one field to change');

    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const current = await this.models.Shipment.findOne({ _id: id, ...tenantFilter(ctx.scope), ...recordFilter(ctx.scope) })
        .lean<ShipmentDoc>()
        .exec();
      if (!current) throw new ShipmentNotFoundError();
      const changes: Partial<ShipmentDoc> = { ...set, updatedAt: this.now() };
      if (set.eta && !current.originalEta) changes.originalEta = set.eta;
      // Tenant and recipient in the filter: the encryption plugin binds the new values to them without another read.
      const updated = await this.models.Shipment.findOneAndUpdate(
        { _id: id, tenantId: current.tenantId, recipientSubjectId: current.recipientSubjectId, rev: current.rev },
        { $set: changes, $inc: { rev: 1 } },
        { returnDocument: 'after' },
      )
        .lean<ShipmentDoc>()
        .exec();
      if (!updated) continue;
      await ctx.audit.record({
        type: 'shipment.details_updated',
        actor: actorOf(ctx.caller),
        tenantId: updated.tenantId,
        target: `Shipment:${id}`,
        requestId: ctx.requestId,
        // Field names only: the values are personal data.
        details: { fields },
      });
      return toShipment(updated);
    }
    throw new ConcurrentUpdateError('shipment');
  }
}
