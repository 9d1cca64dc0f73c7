/**
 * Business rules of the privacy subgraph over its models: privacy settings
 * with privacy-by-design defaults, and data-subject requests with computed
 * deadlines and a status machine. No GraphQL here. Every read takes the
 * caller's `DataScope` and filters by tenant in the query itself; every
 * write is audited without personal data.
 */
import { isValidObjectId, trusted, Types, type QueryFilter } from 'mongoose';
import type { AuditSink } from '../../lib/audit';
import { tenantFilter } from '../../lib/caller';
import type { ErasureResult } from '../../lib/crypto/erasure';
import type { DataScope, Region } from '../../lib/context';
import { BadUserInputError, isDuplicateKey } from '../../lib/errors';
import type { PageRequest } from '../../lib/pagination';
import { addCalendarMonths, canTransition, DUE_MONTHS, EXTENDED_DUE_MONTHS, FINAL_STATUSES, legalHoldsFor } from './dsr-rules';
import { ConcurrentUpdateError, DsrNotFoundError, ExtensionTooLateError, InvalidInputError, InvalidTransitionError } from './errors';
import {
  DSR_KINDS,
  NOTIFICATION_CHANNELS,
  type DataSharing,
  type DataSubjectRequestDoc,
  type DsrErasureDoc,
  type DsrKind,
  type DsrStatus,
  type NotificationChannel,
  type PrivacyModels,
  type PrivacySettingsDoc,
  settingsId,
} from './model';

/** The service's clock; tests inject a fixed one. */
export type Clock = () => Date;

/** Who writes, for which tenant, in which request: what an audit record needs. */
export interface Writer {
  /** `user:<id>` or `system:<id>`. */
  actor: string;
  requestId: string;
  audit: AuditSink;
}

/** A writer acting for one tenant: creating tenant-owned data needs one. */
export interface TenantWriter extends Writer {
  tenantId: string;
}

// ---------------------------------------------------------------- subject ids

const SUBJECT_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/** True for a well-formed subject id: opaque, 1-128 of letters, digits and `._:@-` (user ids, pseudonymous recipient ids). */
export function isSubjectId(value: unknown): value is string {
  return typeof value === 'string' && SUBJECT_ID.test(value);
}

export function assertSubjectId(subjectId: string, field = 'subjectId'): void {
  if (!isSubjectId(subjectId)) throw new InvalidInputError(field, 'must be 1-128 letters, digits or ._:@-');
}

// ---------------------------------------------------------------- settings

/** Privacy by design: nothing shared, no channel agreed, until the subject chooses. */
export const DEFAULT_NOTIFICATION_CHANNELS: readonly NotificationChannel[] = [];
export const DEFAULT_DATA_SHARING: Readonly<DataSharing> = { analytics: false, marketing: false, partners: false };
const TOGGLES = ['analytics', 'marketing', 'partners'] as const;

/** Settings as callers see them; `updatedAt` is null for defaults. */
export interface PrivacySettingsView {
  subjectId: string;
  notificationChannels: NotificationChannel[];
  dataSharing: DataSharing;
  updatedAt: Date | null;
}

export interface PrivacySettingsChanges {
  notificationChannels?: NotificationChannel[] | null;
  dataSharing?: Partial<Record<keyof DataSharing, boolean | null>> | null;
}

/**
 * The stored settings of `subjectId`, or the defaults when there are none.
 * An erased subject's stored values read as null (their key is shredded):
 * they count as never chosen, so the defaults — nothing shared — apply.
 */
export function settingsView(subjectId: string, doc: PrivacySettingsDoc | null | undefined): PrivacySettingsView {
  if (!doc) return { subjectId, notificationChannels: [...DEFAULT_NOTIFICATION_CHANNELS], dataSharing: { ...DEFAULT_DATA_SHARING }, updatedAt: null };
  const sharing = doc.dataSharing ?? DEFAULT_DATA_SHARING;
  return {
    subjectId,
    notificationChannels: [...(doc.notificationChannels ?? DEFAULT_NOTIFICATION_CHANNELS)],
    dataSharing: { analytics: sharing.analytics, marketing: sharing.marketing, partners: sharing.partners },
    updatedAt: doc.updatedAt,
  };
}

export class PrivacySettingsService {
  constructor(
    private readonly models: PrivacyModels,
    private readonly now: Clock = () => new Date(),
  ) {}

  /**
   * The stored settings of many subjects in ONE query, by subject id. Only
   * the scope's tenants are searched; when an unrestricted caller finds a
   * subject in several tenants, the latest change wins.
   */
  async findBySubjects(scope: DataScope, subjectIds: readonly string[]): Promise<Map<string, PrivacySettingsDoc>> {
    const found = new Map<string, PrivacySettingsDoc>();
    const ids = [...new Set(subjectIds)];
    if (!ids.length || scope.tenantIds?.length === 0) return found;
    const docs = await this.models.PrivacySettings.find({ ...tenantFilter(scope), subjectId: trusted({ $in: ids }) })
      .sort({ updatedAt: 1 })
      .lean<PrivacySettingsDoc[]>();
    for (const doc of docs) found.set(doc.subjectId, doc);
    return found;
  }

  /**
   * Applies `changes` to the subject's settings in the writer's tenant,
   * starting from the defaults when there are none (upsert). Omitted fields
   * stay as they are. Audits which fields changed, never their values.
   */
  async update(writer: TenantWriter, subjectId: string, changes: PrivacySettingsChanges): Promise<PrivacySettingsView> {
    assertSubjectId(subjectId);
    const changed: string[] = [];
    let channels: NotificationChannel[] | undefined;
    if (changes.notificationChannels != null) {
      for (const c of changes.notificationChannels) {
        if (!NOTIFICATION_CHANNELS.includes(c)) throw new InvalidInputError('notificationChannels', 'has an unknown channel');
      }
      // Stored deduplicated, in the enum's order, so equal choices compare equal.
      channels = NOTIFICATION_CHANNELS.filter((c) => changes.notificationChannels!.includes(c));
      changed.push('notificationChannels');
    }
    for (const toggle of TOGGLES) if (changes.dataSharing?.[toggle] != null) changed.push(`dataSharing.${toggle}`);
    // Both values are encrypted whole, so a change rewrites them whole: read, merge, write back under the revision
    // read (updatedAt), retrying when another write came in between. The _id is known up front, so the first write
    // is an upsert the encryption can bind to its document.
    const _id = settingsId(writer.tenantId, subjectId);
    let doc: PrivacySettingsDoc | null = null;
    for (let attempt = 0; attempt < 5 && !doc; attempt++) {
      const current = await this.models.PrivacySettings.findOne({ _id, tenantId: writer.tenantId, subjectId }).lean<PrivacySettingsDoc>();
      const sharing = { ...DEFAULT_DATA_SHARING, ...(current?.dataSharing ?? {}) };
      for (const toggle of TOGGLES) {
        const value = changes.dataSharing?.[toggle];
        if (value != null) sharing[toggle] = value;
      }
      const set = {
        notificationChannels: channels ?? current?.notificationChannels ?? [...DEFAULT_NOTIFICATION_CHANNELS],
        dataSharing: sharing,
        updatedAt: this.now(),
      };
      try {
        if (!current) {
          const fresh: PrivacySettingsDoc = { _id, tenantId: writer.tenantId, subjectId, ...set, rev: 1 };
          await this.models.PrivacySettings.create(fresh);
          doc = fresh;
        } else {
          doc = await this.models.PrivacySettings.findOneAndUpdate({ _id, tenantId: writer.tenantId, subjectId, rev: current.rev ?? 0 }, { $set: set, $inc: { rev: 1 } }, { returnDocument: 'after' }).lean<PrivacySettingsDoc>();
        }
      } catch (err) {
        // Two first writes of one subject race on the _id: the loser reads the winner's document and merges into it.
        if (!isDuplicateKey(err)) throw err;
      }
    }
    if (!doc) throw new ConcurrentUpdateError('privacy settings');
    await writer.audit.record({
      type: 'privacy.settings.updated',
      actor: writer.actor,
      tenantId: writer.tenantId,
      target: `PrivacySettings:${String(doc!._id)}`,
      requestId: writer.requestId,
      details: { changed },
    });
    return settingsView(subjectId, doc);
  }
}

// ---------------------------------------------------------------- data-subject requests

export interface CreateDsrInput {
  subjectId: string;
  kind: DsrKind;
  /** Defaults to now; never in the future. */
  receivedAt?: Date | null;
}

/**
 * Erases one data subject of one tenant everywhere (lib/crypto/erasure.ts
 * `eraseSubject` over every encrypted model; server.ts binds it). Must be
 * idempotent: a completion that failed after it is retried by repeating it.
 */
export type SubjectEraser = (subject: { tenantId: string; subjectId: string }) => Promise<ErasureResult>;

export interface DsrPage {
  items: DataSubjectRequestDoc[];
  /** Counted on demand: only when the client selects `totalCount`. */
  totalCount: () => Promise<number>;
}

export class DataSubjectRequestService {
  /**
   * `erase` executes an erasure when an ERASURE request is completed;
   * without one (field encryption off: benchmarks) completing an erasure is
   * refused, so COMPLETED never claims an erasure that did not happen.
   */
  constructor(
    private readonly models: PrivacyModels,
    private readonly now: Clock,
    private readonly erase?: SubjectEraser,
  ) {}

  /**
   * Records a request received by the writer's tenant. `dueAt` is one
   * calendar month after `receivedAt`; an erasure carries the customs legal
   * hold of `region` (every region's when unknown).
   */
  async create(writer: TenantWriter, input: CreateDsrInput, region?: Region): Promise<DataSubjectRequestDoc> {
    assertSubjectId(input.subjectId);
    if (!DSR_KINDS.includes(input.kind)) throw new InvalidInputError('kind', 'is not a request kind');
    const now = this.now();
    const receivedAt = input.receivedAt ?? now;
    if (Number.isNaN(receivedAt.getTime())) throw new InvalidInputError('receivedAt', 'is not a date');
    if (receivedAt.getTime() > now.getTime()) throw new InvalidInputError('receivedAt', 'cannot be in the future');
    const created = await this.models.DataSubjectRequest.create({
      tenantId: writer.tenantId,
      subjectId: input.subjectId,
      kind: input.kind,
      status: 'RECEIVED',
      receivedAt,
      dueAt: addCalendarMonths(receivedAt, DUE_MONTHS),
      extendedAt: null,
      legalHolds: legalHoldsFor(input.kind, region),
      completedAt: null,
      createdAt: now,
      updatedAt: now,
    });
    const doc = created.toObject() as DataSubjectRequestDoc;
    await writer.audit.record({
      type: 'dsr.created',
      actor: writer.actor,
      tenantId: writer.tenantId,
      target: `DataSubjectRequest:${String(doc._id)}`,
      requestId: writer.requestId,
      details: { kind: doc.kind, dueAt: doc.dueAt.toISOString(), legalHolds: doc.legalHolds },
    });
    return doc;
  }

  /** One page of the scope's requests, oldest deadline first (ties by id): `first + 1` fetched. */
  async list(scope: DataScope, page: PageRequest): Promise<DsrPage> {
    const filter: QueryFilter<DataSubjectRequestDoc> = tenantFilter(scope);
    if (page.after) {
      const { k, id } = page.after;
      if (typeof k !== 'number' || !Types.ObjectId.isValid(id) || String(new Types.ObjectId(id)) !== id) {
        throw new BadUserInputError('after is not a valid cursor', { argument: 'after' });
      }
      const dueAt = new Date(k);
      filter.$or = [{ dueAt: trusted({ $gt: dueAt }) }, { dueAt, _id: trusted({ $gt: new Types.ObjectId(id) }) }];
    }
    const items = await this.models.DataSubjectRequest.find(filter)
      .sort({ dueAt: 1, _id: 1 })
      .limit(page.first + 1)
      .lean<DataSubjectRequestDoc[]>();
    // A fresh filter: mongoose casts filters in place, which drops the `trusted` mark.
    return { items, totalCount: () => this.models.DataSubjectRequest.countDocuments(tenantFilter(scope)).exec() };
  }

  /**
   * Moves a request to `status`. Finished requests never move; EXTENDED is
   * allowed once, before the original deadline, and sets `dueAt` to three
   * calendar months after receipt; COMPLETED and REJECTED stamp
   * `completedAt`. The write is conditional on the status read, so two
   * concurrent moves cannot both succeed.
   *
   * Completing an ERASURE executes it first, for the request's own tenant
   * and subject (never the caller's input): keys shredded, blind indexes
   * removed, `dsr.erasure_executed` audited; only then is COMPLETED
   * recorded, with the counts. A failure in between leaves the request
   * where it was, and repeating the move repeats the (idempotent) erasure.
   * Other processes may decrypt the subject's values from their key cache
   * for up to DATA_KEY_CACHE_TTL_MS after it (lib/crypto/erasure.ts).
   */
  async updateStatus(writer: Writer, scope: DataScope, id: string, status: DsrStatus): Promise<DataSubjectRequestDoc> {
    if (!isValidObjectId(id) || String(new Types.ObjectId(id)) !== id) throw new DsrNotFoundError();
    const _id = new Types.ObjectId(id);
    const current = await this.models.DataSubjectRequest.findOne({ _id, ...tenantFilter(scope) }).lean<DataSubjectRequestDoc>();
    if (!current) throw new DsrNotFoundError();
    if (!canTransition(current.status, status, current.extendedAt != null)) throw new InvalidTransitionError(current.status, status);
    const now = this.now();
    const set: Partial<DataSubjectRequestDoc> = { status, updatedAt: now };
    if (status === 'EXTENDED') {
      if (now.getTime() > current.dueAt.getTime()) throw new ExtensionTooLateError();
      set.dueAt = addCalendarMonths(current.receivedAt, EXTENDED_DUE_MONTHS);
      set.extendedAt = now;
    }
    if (FINAL_STATUSES.includes(status)) set.completedAt = now;
    if (current.kind === 'ERASURE' && status === 'COMPLETED') set.erasure = await this.executeErasure(writer, current, now);
    const updated = await this.models.DataSubjectRequest.findOneAndUpdate(
      { _id, ...tenantFilter(scope), status: current.status },
      { $set: set },
      { returnDocument: 'after' },
    ).lean<DataSubjectRequestDoc>();
    if (!updated) throw new ConcurrentUpdateError('data-subject request');
    await writer.audit.record({
      type: 'dsr.status_changed',
      actor: writer.actor,
      tenantId: updated.tenantId,
      target: `DataSubjectRequest:${id}`,
      requestId: writer.requestId,
      details: { from: current.status, to: status, dueAt: updated.dueAt.toISOString() },
    });
    return updated;
  }

  /** Erases the request's subject in the request's tenant and audits it (ids and counts only). */
  private async executeErasure(writer: Writer, request: DataSubjectRequestDoc, now: Date): Promise<DsrErasureDoc> {
    if (!this.erase) throw new Error('erasure is not available: the privacy subgraph runs without field encryption');
    const result = await this.erase({ tenantId: request.tenantId, subjectId: request.subjectId });
    // Audited once the erasure happened, before the status is recorded: should that fail, the trail still says so.
    await writer.audit.record({
      type: 'dsr.erasure_executed',
      actor: writer.actor,
      tenantId: request.tenantId,
      target: `DataSubjectRequest:${String(request._id)}`,
      requestId: writer.requestId,
      details: { keysDestroyed: result.keysDestroyed, documentsUnindexed: { ...result.documentsUnindexed }, legalHolds: [...request.legalHolds] },
    });
    return { executedAt: now, keysDestroyed: result.keysDestroyed, documentsUnindexed: { ...result.documentsUnindexed } };
  }
}

/** Both services over one set of models and one clock. */
export interface PrivacyServices {
  settings: PrivacySettingsService;
  requests: DataSubjectRequestService;
}

export interface PrivacyServiceOptions {
  /** Executes erasures (see `DataSubjectRequestService`); absent: completing an ERASURE is refused. */
  erase?: SubjectEraser;
}

export function createServices(models: PrivacyModels, now: Clock = () => new Date(), options: PrivacyServiceOptions = {}): PrivacyServices {
  return { settings: new PrivacySettingsService(models, now), requests: new DataSubjectRequestService(models, now, options.erase) };
}
