/**
 * Resolvers of the shipment subgraph: thin. Arguments go to the services,
 * per-shipment fields and `__resolveReference` go through the request's
 * loaders (each hands its `info` to `select` first: the request's read
 * plan, selection.ts), and results go back as they are. Every field except
 * `trackShipment` needs a caller (the SDL's contract); roles and scopes are
 * enforced by the directive rules, not here.
 */
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import type { GraphQLResolveInfo } from 'graphql';
import { actorOf, callerOf, tenantCallerOf, writeContextOf } from '../../lib/caller';
import type { RequestContext } from '../../lib/context';
import { pageRequest, toConnection } from '../../lib/pagination';
import type { ShipmentLoaders } from './loaders';
import type { Clock, Shipment, TrackingEvent } from './records';
import { revealedEvents, revealShipment, type RevealShipmentArgs } from './reveal';
import { dateCursor, type CreateShipmentInput, type ShipmentFilter, type ShipmentService, type UpdateShipmentDetailsInput } from './service';
import type { RecordTrackingEventInput, TrackingService } from './tracking';

type Ctx = RequestContext<ShipmentLoaders>;

export interface ResolverDeps {
  shipments: ShipmentService;
  tracking: TrackingService;
  /** Clock of reveals (`revealedAt`, `expiresAt`). @default () => new Date() */
  now?: Clock;
}

const shipmentCursor = (s: Shipment) => ({ k: s.createdAt.getTime(), id: s.id });
const eventCursor = (e: TrackingEvent) => ({ k: e.occurredAt.getTime(), id: e.id });

export function createResolvers(deps: ResolverDeps): GraphQLResolverMap<Ctx> {
  return {
    Query: {
      shipment: (_: unknown, args: { id: string }, ctx: Ctx, info: GraphQLResolveInfo) => {
        callerOf(ctx.principal);
        ctx.loaders.select(info);
        return ctx.loaders.shipmentById.load(args.id);
      },
      shipments: async (_: unknown, args: { filter?: ShipmentFilter | null; first?: number | null; after?: string | null }, ctx: Ctx, info: GraphQLResolveInfo) => {
        callerOf(ctx.principal);
        const page = pageRequest(args.first, args.after);
        // The request's plan, not one of this field alone: the loader it primes serves the whole operation.
        const { items, totalCount } = await deps.shipments.listShipments(ctx.scope, args.filter ?? {}, page, ctx.loaders.select(info).shipments);
        // Nested entity hops in the same request reuse what the list loaded.
        for (const s of items) ctx.loaders.shipmentById.prime(s.id, s);
        return toConnection(items, page.first, shipmentCursor, totalCount);
      },
      shipmentsByRecipientContact: async (_: unknown, args: { email?: string | null; phone?: string | null }, ctx: Ctx) => {
        const caller = tenantCallerOf(callerOf(ctx.principal));
        const items = await deps.shipments.shipmentsByRecipientContact(ctx.scope, caller.tenantId, args);
        await ctx.audit.record({
          type: 'shipment.contact_lookup',
          actor: actorOf(caller),
          tenantId: caller.tenantId,
          requestId: ctx.requestId,
          // Which kind of value and how many matched; never the value.
          details: { by: args.email ? 'email' : 'phone', matches: items.length },
        });
        for (const s of items) ctx.loaders.shipmentById.prime(s.id, s);
        return items;
      },
      trackShipment: (_: unknown, args: { trackingNumber: string; token: string }) => deps.tracking.publicTracking(args.trackingNumber, args.token),
    },
    Mutation: {
      createShipment: (_: unknown, args: { input: CreateShipmentInput }, ctx: Ctx) =>
        deps.shipments.createShipment(args.input, { ...writeContextOf(ctx), region: ctx.region }),
      recordTrackingEvent: (_: unknown, args: { input: RecordTrackingEventInput }, ctx: Ctx) => deps.tracking.recordTrackingEvent(args.input, writeContextOf(ctx)),
      updateShipmentDetails: (_: unknown, args: { id: string; input: UpdateShipmentDetailsInput }, ctx: Ctx) =>
        deps.shipments.updateShipmentDetails(args.id, args.input, writeContextOf(ctx)),
      // The audited reveal (reveal.ts): the only path that shows the personal data unmasked.
      revealShipment: (_: unknown, args: RevealShipmentArgs, ctx: Ctx) => revealShipment(ctx, args, deps.now),
    },
    Shipment: {
      // Another tenant's shipment resolves to null, as an unknown id does.
      __resolveReference: (ref: { id?: unknown }, ctx: Ctx, info: GraphQLResolveInfo) => {
        if (ctx.principal.kind === 'anonymous' || typeof ref.id !== 'string') return null;
        ctx.loaders.select(info);
        return ctx.loaders.shipmentById.load(ref.id);
      },
      // Present only on `createShipment`'s result: only the token's hash is stored.
      publicTrackingToken: (s: Shipment) => s.publicTrackingToken ?? null,
      // Records written before data tags carry none.
      dataTags: (s: Shipment) => s.dataTags ?? [],
      events: async (s: Shipment, args: { first?: number | null; after?: string | null }, ctx: Ctx, info: GraphQLResolveInfo) => {
        const page = pageRequest(args.first, args.after);
        const after = page.after ? dateCursor(page.after) : undefined;
        ctx.loaders.select(info);
        const { items, total } = await ctx.loaders.eventPage.load({ shipmentId: s.id, first: page.first, after });
        return toConnection(revealedEvents(s, items), page.first, eventCursor, total);
      },
      latestEvent: async (s: Shipment, _args: unknown, ctx: Ctx, info: GraphQLResolveInfo) => {
        ctx.loaders.select(info);
        return revealedEvents(s, (await ctx.loaders.eventPage.load({ shipmentId: s.id, first: 1 })).items.slice(0, 1))[0] ?? null;
      },
    },
  } as GraphQLResolverMap<Ctx>;
}
