/**
 * Resolvers: thin. Arguments go to the services, entity fields to the
 * per-request loaders. Who may call what is decided by the schema's
 * directives (rules compiled later); tenancy is in the services' queries.
 * Here we only refuse callers without identity and take the tenant of a
 * write from the principal, never from input.
 */
import { actorOf, callerOf, reference, representationField, tenantOfCaller } from '../../lib/caller';
import type { RequestContext } from '../../lib/context';
import { pageRequest, toConnection } from '../../lib/pagination';
import { InvalidRepresentationError } from './errors';
import type { PrivacyLoaders } from './loaders';
import type { DataSubjectRequestDoc, DsrKind, DsrStatus } from './model';
import { assertSubjectId, isSubjectId, type PrivacyServices, type PrivacySettingsChanges, type TenantWriter, type Writer } from './service';

type Ctx = RequestContext<PrivacyLoaders>;

/** A data-subject request as the schema shows it. */
export interface DataSubjectRequestView {
  id: string;
  tenantId: string;
  subjectId: string;
  kind: DsrKind;
  receivedAt: Date;
  dueAt: Date;
  status: DsrStatus;
  legalHolds: string[];
  completedAt: Date | null;
  erasure: { executedAt: Date; keysDestroyed: number; documentsUnindexed: Array<{ collection: string; documents: number }> } | null;
}

function toView(doc: DataSubjectRequestDoc): DataSubjectRequestView {
  return {
    id: String(doc._id),
    tenantId: doc.tenantId,
    subjectId: doc.subjectId,
    kind: doc.kind,
    receivedAt: doc.receivedAt,
    dueAt: doc.dueAt,
    status: doc.status,
    legalHolds: [...doc.legalHolds],
    completedAt: doc.completedAt ?? null,
    erasure: doc.erasure
      ? {
          executedAt: doc.erasure.executedAt,
          keysDestroyed: doc.erasure.keysDestroyed,
          documentsUnindexed: Object.entries(doc.erasure.documentsUnindexed ?? {})
            .map(([collection, documents]) => ({ collection, documents }))
            .sort((a, b) => a.collection.localeCompare(b.collection)),
        }
      : null,
  };
}

/** Every privacy field needs a caller: refuses anonymous ones. */
function requireCaller(ctx: Ctx): void {
  callerOf(ctx.principal);
}

function writerOf(ctx: Ctx): Writer {
  return { actor: actorOf(callerOf(ctx.principal)), requestId: ctx.requestId, audit: ctx.audit };
}

/** Writes that create tenant-owned data take the tenant from the principal; only users carry one. */
function tenantWriterOf(ctx: Ctx): TenantWriter {
  const writer = writerOf(ctx);
  return { ...writer, tenantId: tenantOfCaller(ctx.principal) };
}

interface ShipmentRepresentation {
  id: string;
  recipientSubjectId?: string | null;
}

export function createResolvers(services: PrivacyServices) {
  return {
    Query: {
      privacySettings: (_: unknown, args: { subjectId: string }, ctx: Ctx) => {
        requireCaller(ctx);
        assertSubjectId(args.subjectId);
        return ctx.loaders.settingsBySubject.load(args.subjectId);
      },
      dataSubjectRequests: async (_: unknown, args: { first?: number | null; after?: string | null }, ctx: Ctx) => {
        requireCaller(ctx);
        const page = pageRequest(args.first, args.after);
        const { items, totalCount } = await services.requests.list(ctx.scope, page);
        const connection = toConnection(items.map(toView), page.first, (r) => ({ k: r.dueAt.getTime(), id: r.id }));
        // A function field: the default resolver runs the count only when `totalCount` is selected.
        return { edges: connection.edges, pageInfo: connection.pageInfo, totalCount };
      },
    },
    Mutation: {
      updatePrivacySettings: (_: unknown, args: { subjectId: string; input: PrivacySettingsChanges }, ctx: Ctx) =>
        services.settings.update(tenantWriterOf(ctx), args.subjectId, args.input),
      createDataSubjectRequest: async (_: unknown, args: { input: { subjectId: string; kind: DsrKind; receivedAt?: Date | null } }, ctx: Ctx) =>
        toView(await services.requests.create(tenantWriterOf(ctx), args.input, ctx.region)),
      updateDataSubjectRequestStatus: async (_: unknown, args: { id: string; status: DsrStatus }, ctx: Ctx) =>
        toView(await services.requests.updateStatus(writerOf(ctx), ctx.scope, args.id, args.status)),
    },
    User: {
      // Identity owns users; here a user is only the key of its own settings (subject id = user id).
      __resolveReference: reference((ref, ctx: Ctx) => {
        requireCaller(ctx);
        const id = (ref as { id?: unknown } | null)?.id;
        if (!isSubjectId(id)) throw new InvalidRepresentationError('User', 'id');
        return { id };
      }),
      privacySettings: (user: { id: string }, _: unknown, ctx: Ctx) => {
        requireCaller(ctx);
        return ctx.loaders.settingsBySubject.load(user.id);
      },
    },
    Shipment: {
      // `recipientSubjectId` arrives with the representation (@requires); nothing to load for the shipment itself.
      __resolveReference: reference((ref, ctx: Ctx): ShipmentRepresentation => {
        requireCaller(ctx);
        // `_Any` admits any JSON: only strings reach the loader's `$in`.
        const id = representationField(ref, 'Shipment', 'id');
        const subjectId = (ref as { recipientSubjectId?: unknown }).recipientSubjectId ?? null;
        if (subjectId !== null && !isSubjectId(subjectId)) throw new InvalidRepresentationError('Shipment', 'recipientSubjectId');
        return { id, recipientSubjectId: subjectId };
      }),
      recipientPrivacy: (shipment: ShipmentRepresentation, _: unknown, ctx: Ctx) => {
        requireCaller(ctx);
        return shipment.recipientSubjectId ? ctx.loaders.settingsBySubject.load(shipment.recipientSubjectId) : null;
      },
    },
  };
}
