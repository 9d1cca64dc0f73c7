/**
 * Just-in-time elevation (Azure PIM / Teleport access requests): a person
 * asks for a role or a scope for up to 4 h with a reason and a ticket; a
 * different, standing SECURITY_ADMIN of the tenant approves or denies it
 * within 24 h. An approved elevation is active from the approval until
 * `expiresAt = decidedAt + durationMinutes` and then simply gone: every read
 * compares `expiresAt` with the clock, no job runs. Every step is audited
 * through `AuditSink`; the expiry lazily, the first time an expired
 * elevation is read (see `recordExpiries`). Reason texts are SENSITIVE and
 * never reach audit details.
 */
import { trusted } from 'mongoose';
import { actorOf, callerOf, tenantCallerOf, tenantFilter, type TenantCaller, type WriteContext } from '../../../lib/caller';
import { PERSON_ROLES, scopesForRoles } from '../../../lib/auth/scopes';
import type { PageRequest } from '../../../lib/pagination';
import { BadUserInputError } from '../../../lib/errors';
import type { IdentityModels } from '../model';
import { insideChangeWindow, type ChangeWindow } from './change-window';
import { ApproverNotEligibleError, ElevationNotFoundError, InvalidTransitionError, RequesterNotEligibleError, RequestStaleError, SelfApprovalError } from './errors';
import { ELEVATABLE_SCOPES, reasonText, validateRequest, type RequestElevationInput } from './input';
import type { ElevationDoc } from './model';

export type Clock = () => Date;
export type ElevationStatus = 'PENDING' | 'APPROVED' | 'DENIED' | 'EXPIRED';

/** How long a request may wait for its approval. */
export const APPROVAL_DEADLINE_MS = 24 * 60 * 60 * 1000;
/** The actor of `elevation.expired` records: nobody acted, time passed. */
export const EXPIRY_ACTOR = 'system:elevation-expiry';

/** What callers see: the stored document with `id`, the status as of now, without bookkeeping. */
export type Elevation = Omit<ElevationDoc, '_id' | 'status' | 'expiryRecordedAt'> & { id: string; status: ElevationStatus };

export interface ElevationServiceOptions {
  /** @default () => new Date() */
  now?: Clock;
  /** @default undefined — no window: every approval is inside */
  changeWindow?: ChangeWindow;
}

/** The status of `doc` at `now`: an approval whose `expiresAt` has passed reads EXPIRED. */
export function statusAt(doc: Pick<ElevationDoc, 'status' | 'expiresAt'>, now: Date): ElevationStatus {
  if (doc.status === 'APPROVED' && doc.expiresAt !== null && doc.expiresAt.getTime() <= now.getTime()) return 'EXPIRED';
  return doc.status;
}

function toElevation(d: ElevationDoc, now: Date): Elevation {
  return {
    id: d._id,
    tenantId: d.tenantId,
    requesterId: d.requesterId,
    role: d.role ?? null,
    scope: d.scope ?? null,
    reason: d.reason,
    ticket: d.ticket,
    requestedAt: d.requestedAt,
    durationMinutes: d.durationMinutes,
    status: statusAt(d, now),
    approvedBy: d.approvedBy ?? null,
    deniedBy: d.deniedBy ?? null,
    denialReason: d.denialReason ?? null,
    decidedAt: d.decidedAt ?? null,
    expiresAt: d.expiresAt ?? null,
    outsideChangeWindow: d.outsideChangeWindow ?? null,
  };
}

/** The database condition for a status as of `now` (EXPIRED and APPROVED split on `expiresAt`). */
function statusFilter(status: ElevationStatus | null | undefined, now: Date): Record<string, unknown> {
  switch (status) {
    case 'APPROVED':
      return { status: 'APPROVED', expiresAt: trusted({ $gt: now }) };
    case 'EXPIRED':
      return { status: 'APPROVED', expiresAt: trusted({ $lte: now }) };
    case 'PENDING':
    case 'DENIED':
      return { status };
    default:
      return {};
  }
}

/** What an elevation grants, for audit details: `{ role }` or `{ scope }` (never the reason). */
const grantOf = (d: Pick<ElevationDoc, 'role' | 'scope'>) => (d.role ? { role: d.role } : { scope: d.scope });

export class ElevationService {
  private readonly now: Clock;
  private readonly changeWindow: ChangeWindow | undefined;

  constructor(
    private readonly models: Pick<IdentityModels, 'Elevation' | 'User'>,
    options: ElevationServiceOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.changeWindow = options.changeWindow;
  }

  /**
   * Elevations in the caller's reach, newest first: a SECURITY_ADMIN sees
   * the tenant's, anyone else their own. `status` is as of now. Expired
   * elevations on the page get their expiry audited if nobody read them yet.
   */
  async list(ctx: WriteContext, status: ElevationStatus | null | undefined, page: PageRequest): Promise<{ items: Elevation[]; totalCount: number }> {
    const now = this.now();
    const base = { ...this.reachOf(ctx), ...statusFilter(status, now) };
    let filter: Record<string, unknown> = base;
    if (page.after) {
      const { k, id } = page.after;
      if (typeof k !== 'number' || !Number.isFinite(k)) throw new BadUserInputError('after is not a valid cursor', { argument: 'after' });
      const at = new Date(k);
      filter = { ...base, $or: [{ requestedAt: trusted({ $lt: at }) }, { requestedAt: at, _id: trusted({ $lt: id }) }] };
    }
    const [docs, totalCount] = await Promise.all([
      this.models.Elevation.find(filter).sort({ requestedAt: -1, _id: -1 }).limit(page.first + 1).lean<ElevationDoc[]>(),
      this.models.Elevation.countDocuments(base),
    ]);
    await this.recordExpiries(ctx, docs.slice(0, page.first), now);
    return { items: docs.map((d) => toElevation(d, now)), totalCount };
  }

  /** The caller's own elevations active now, soonest to expire first (none for a system caller). */
  async myActive(ctx: WriteContext): Promise<Elevation[]> {
    const caller = callerOf(ctx.caller);
    if (caller.kind !== 'user') return [];
    const now = this.now();
    const docs = await this.models.Elevation.find({ tenantId: caller.tenantId, requesterId: caller.id, ...statusFilter('APPROVED', now) })
      .sort({ expiresAt: 1, _id: 1 })
      .lean<ElevationDoc[]>();
    return docs.map((d) => toElevation(d, now));
  }

  /** A PENDING request by the caller, who must be an active user of their tenant. Audited without the reason. */
  async request(ctx: WriteContext, input: RequestElevationInput): Promise<Elevation> {
    const caller = tenantCallerOf(ctx.caller);
    const valid = validateRequest(input);
    const user = await this.models.User.findOne({ _id: caller.id, tenantId: caller.tenantId }, { status: 1 }).lean<{ status: string }>();
    if (user?.status !== 'ACTIVE') throw new RequesterNotEligibleError();
    const doc = {
      tenantId: caller.tenantId,
      requesterId: caller.id,
      ...valid,
      requestedAt: this.now(),
      status: 'PENDING' as const,
      approvedBy: null,
      deniedBy: null,
      denialReason: null,
      decidedAt: null,
      expiresAt: null,
      outsideChangeWindow: null,
      expiryRecordedAt: null,
    };
    const created = (await this.models.Elevation.create(doc)).toObject() as ElevationDoc;
    await this.audit(ctx, 'elevation.requested', actorOf(caller), created, { ...grantOf(created), durationMinutes: created.durationMinutes, ticket: created.ticket });
    return toElevation(created, doc.requestedAt);
  }

  /**
   * Approves a PENDING request of the caller's tenant, at most 24 h old, not
   * the caller's own; the caller must hold SECURITY_ADMIN in their user
   * record (an elevated SECURITY_ADMIN may not approve). Active from now for
   * `durationMinutes`. Outside the change window it still succeeds, flagged
   * and audited a second time as `elevation.approved_outside_window`.
   */
  async approve(ctx: WriteContext, id: string): Promise<Elevation> {
    const caller = tenantCallerOf(ctx.caller);
    const now = this.now();
    const current = await this.decidable(ctx, caller, id, now);
    if (now.getTime() - current.requestedAt.getTime() >= APPROVAL_DEADLINE_MS) throw new RequestStaleError();
    const expiresAt = new Date(now.getTime() + current.durationMinutes * 60_000);
    const outsideChangeWindow = !insideChangeWindow(this.changeWindow, now);
    const updated = await this.models.Elevation.findOneAndUpdate(
      { _id: current._id, tenantId: current.tenantId, status: 'PENDING', requestedAt: trusted({ $gt: new Date(now.getTime() - APPROVAL_DEADLINE_MS) }) },
      { $set: { status: 'APPROVED', approvedBy: caller.id, decidedAt: now, expiresAt, outsideChangeWindow } },
      { returnDocument: 'after' },
    ).lean<ElevationDoc>();
    // Decided concurrently by someone else between our read and our write.
    if (!updated) throw new InvalidTransitionError(await this.statusNow(current._id, now));
    const details = { requesterId: updated.requesterId, ...grantOf(updated), durationMinutes: updated.durationMinutes, ticket: updated.ticket, expiresAt: expiresAt.toISOString(), outsideChangeWindow };
    await this.audit(ctx, 'elevation.approved', actorOf(caller), updated, details);
    if (outsideChangeWindow) {
      await this.audit(ctx, 'elevation.approved_outside_window', actorOf(caller), updated, { ...details, changeWindow: this.changeWindow?.spec });
    }
    return toElevation(updated, now);
  }

  /** Denies a PENDING request of the caller's tenant (not the caller's own), with a reason that is stored but never audited. */
  async deny(ctx: WriteContext, id: string, reason: string): Promise<Elevation> {
    const caller = tenantCallerOf(ctx.caller);
    const denialReason = reasonText('reason', reason);
    const now = this.now();
    const current = await this.decidable(ctx, caller, id, now);
    const updated = await this.models.Elevation.findOneAndUpdate(
      { _id: current._id, tenantId: current.tenantId, status: 'PENDING' },
      { $set: { status: 'DENIED', deniedBy: caller.id, denialReason, decidedAt: now } },
      { returnDocument: 'after' },
    ).lean<ElevationDoc>();
    if (!updated) throw new InvalidTransitionError(await this.statusNow(current._id, now));
    await this.audit(ctx, 'elevation.denied', actorOf(caller), updated, { requesterId: updated.requesterId, ...grantOf(updated), ticket: updated.ticket });
    return toElevation(updated, now);
  }

  /**
   * The elevation `id` if the caller may decide it now. In this order:
   * NOT_FOUND outside the caller's tenant, SELF_APPROVAL for their own,
   * INVALID_TRANSITION unless PENDING, APPROVER_NOT_ELIGIBLE unless the
   * user record holds SECURITY_ADMIN.
   */
  private async decidable(ctx: WriteContext, caller: TenantCaller, id: string, now: Date): Promise<ElevationDoc> {
    const doc = await this.models.Elevation.findOne({ _id: id, ...tenantFilter(ctx.scope) }).lean<ElevationDoc>();
    if (!doc) throw new ElevationNotFoundError();
    if (doc.requesterId === caller.id) throw new SelfApprovalError();
    const status = statusAt(doc, now);
    if (status !== 'PENDING') {
      await this.recordExpiries(ctx, [doc], now);
      throw new InvalidTransitionError(status);
    }
    const standing = await this.models.User.exists({ _id: caller.id, tenantId: doc.tenantId, status: 'ACTIVE', roles: 'SECURITY_ADMIN' });
    if (!standing) throw new ApproverNotEligibleError();
    return doc;
  }

  private async statusNow(id: string, now: Date): Promise<ElevationStatus> {
    const doc = await this.models.Elevation.findOne({ _id: id }, { status: 1, expiresAt: 1 }).lean<Pick<ElevationDoc, 'status' | 'expiresAt'>>();
    return doc ? statusAt(doc, now) : 'PENDING';
  }

  /** What the caller may read: the tenant's elevations for a SECURITY_ADMIN (and system tasks), otherwise their own. */
  private reachOf(ctx: WriteContext): Record<string, unknown> {
    const caller = callerOf(ctx.caller);
    const base = tenantFilter(ctx.scope);
    if (caller.kind !== 'user' || caller.roles.includes('SECURITY_ADMIN')) return base;
    return { ...base, requesterId: caller.id };
  }

  /**
   * Audits the expiry of every expired elevation in `docs` that has not had
   * it audited: no job runs at expiry, so the record is written the first
   * time someone reads the expired elevation. One claim per elevation
   * (`expiryRecordedAt`, set atomically), so concurrent readers write it
   * once; if the audit sink fails, the claim is released and the read fails.
   */
  private async recordExpiries(ctx: WriteContext, docs: readonly ElevationDoc[], now: Date): Promise<void> {
    const expired = docs.filter((d) => statusAt(d, now) === 'EXPIRED' && !d.expiryRecordedAt);
    await Promise.all(
      expired.map(async (d) => {
        const claim = await this.models.Elevation.updateOne({ _id: d._id, expiryRecordedAt: null }, { $set: { expiryRecordedAt: now } });
        if (claim.modifiedCount !== 1) return;
        try {
          await this.audit(ctx, 'elevation.expired', EXPIRY_ACTOR, d, {
            requesterId: d.requesterId,
            ...grantOf(d),
            expiredAt: d.expiresAt!.toISOString(),
            observedBy: actorOf(callerOf(ctx.caller)),
          });
        } catch (err) {
          await this.models.Elevation.updateOne({ _id: d._id }, { $set: { expiryRecordedAt: null } });
          throw err;
        }
      }),
    );
  }

  private audit(ctx: WriteContext, type: string, actor: string, d: ElevationDoc, details: Record<string, unknown>): Promise<void> {
    return ctx.audit.record({ type, actor, tenantId: d.tenantId, target: `Elevation:${d._id}`, requestId: ctx.requestId, details });
  }
}

/** What a person's active elevations add to their rights. */
export interface ActiveElevations {
  /** Person roles from role elevations, sorted. */
  roles: string[];
  /** Scopes from scope elevations plus those the elevated roles imply (`scopesForRoles`), sorted, no duplicates. */
  scopes: string[];
  /** When the first of them expires (cap any cache of this answer there); null when there are none. */
  nextExpiryAt: Date | null;
  /** Each active elevation: its id and the role or scope it grants (what a SENSITIVE reveal names in its audit record). */
  grants: Array<{ id: string; role?: string; scope?: string }>;
}

/**
 * The roles and scopes `userId` holds in `tenantId` through elevations
 * approved and not expired at `now` (`now < expiresAt`). Empty lists when
 * there are none: nothing has to run at expiry. One indexed query; writes
 * nothing and audits nothing. The gateway's per-request principal check
 * merges the result into a person's principal (roles ∪ roles, scopes ∪
 * scopes); never for API clients or devices.
 *
 * @example
 * const { roles, scopes } = await activeElevationsFor(models, principal.id, principal.tenantId, new Date());
 */
export async function activeElevationsFor(models: Pick<IdentityModels, 'Elevation'>, userId: string, tenantId: string, now: Date): Promise<ActiveElevations> {
  if (typeof userId !== 'string' || typeof tenantId !== 'string' || !userId || !tenantId) return { roles: [], scopes: [], nextExpiryAt: null, grants: [] };
  const docs = await models.Elevation.find(
    { tenantId, requesterId: userId, ...statusFilter('APPROVED', now) },
    { role: 1, scope: 1, expiresAt: 1 },
  ).lean<Array<Pick<ElevationDoc, '_id' | 'role' | 'scope' | 'expiresAt'>>>();
  const roles = [...new Set(docs.map((d) => d.role).filter((r): r is string => typeof r === 'string' && (PERSON_ROLES as readonly string[]).includes(r)))].sort();
  const granted = docs.map((d) => d.scope).filter((s): s is string => typeof s === 'string' && ELEVATABLE_SCOPES.has(s));
  const scopes = [...new Set([...granted, ...scopesForRoles(roles)])].sort();
  const expiries = docs.map((d) => d.expiresAt?.getTime()).filter((t): t is number => typeof t === 'number');
  const grants = docs
    .map((d) => ({ id: String(d._id), ...(typeof d.role === 'string' && roles.includes(d.role) ? { role: d.role } : {}), ...(typeof d.scope === 'string' && granted.includes(d.scope) ? { scope: d.scope } : {}) }))
    .filter((g) => g.role !== undefined || g.scope !== undefined)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { roles, scopes, nextExpiryAt: expiries.length ? new Date(Math.min(...expiries)) : null, grants };
}
