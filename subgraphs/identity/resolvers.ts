/**
 * Thin resolvers: arguments → service or loaders → result. Entity
 * references resolve through the per-request loaders, which are scoped to
 * the caller's tenant.
 */
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { callerOf, reference, representationField, writeContextOf } from '../../lib/caller';
import type { RequestContext } from '../../lib/context';
import { pageRequest, toConnection } from '../../lib/pagination';
import { TenantNotFoundError } from './errors';
import type { IdentityLoaders } from './loaders';
import { revealUser } from './reveal';
import type { ApiClient, CreateTenantInput, CreateUserInput, IdentityService, User } from './service';

export type IdentityContext = RequestContext<IdentityLoaders>;

interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export function createResolvers(service: IdentityService): GraphQLResolverMap<IdentityContext> {
  return {
    Query: {
      me: (_root, _args, ctx: IdentityContext) => {
        const caller = callerOf(ctx.principal);
        return caller.kind === 'user' ? ctx.loaders.userById.load(caller.id) : null;
      },
      // A tenant-scoped caller gets its own tenant only: the loader returns null for any other id.
      tenant: (_root, args: { id: string }, ctx: IdentityContext) => {
        callerOf(ctx.principal);
        return ctx.loaders.tenantById.load(args.id);
      },
      users: async (_root, args: PageArgs, ctx: IdentityContext) => {
        callerOf(ctx.principal);
        const page = pageRequest(args.first, args.after);
        const { items, totalCount } = await service.listUsers(ctx.scope, page);
        // k carries no sort value: names are personal data and stay out of cursors (see listUsers).
        return toConnection<User>(items, page.first, (u) => ({ k: '', id: u.id }), totalCount);
      },
      apiClients: async (_root, args: PageArgs, ctx: IdentityContext) => {
        callerOf(ctx.principal);
        const page = pageRequest(args.first, args.after);
        const { items, totalCount } = await service.listApiClients(ctx.scope, page);
        return toConnection<ApiClient>(items, page.first, (c) => ({ k: c.createdAt.getTime(), id: c.id }), totalCount);
      },
    },
    Mutation: {
      createTenant: (_root, args: { input: CreateTenantInput }, ctx: IdentityContext) => service.createTenant(writeContextOf(ctx), args.input),
      createUser: (_root, args: { input: CreateUserInput }, ctx: IdentityContext) => service.createUser(writeContextOf(ctx), args.input),
      // The audited reveal (reveal.ts): the only path that shows another user's email and name unmasked.
      revealUser: (_root, args: { id: string; reason: string }, ctx: IdentityContext) => revealUser(ctx, args),
    },
    Tenant: {
      __resolveReference: reference((ref, ctx: IdentityContext) => {
        callerOf(ctx.principal);
        return ctx.loaders.tenantById.load(representationField(ref, 'Tenant', 'id'));
      }),
    },
    User: {
      __resolveReference: reference((ref, ctx: IdentityContext) => {
        callerOf(ctx.principal);
        return ctx.loaders.userById.load(representationField(ref, 'User', 'id'));
      }),
    },
    Shipment: {
      // Identity stores no shipments: the representation ({ id, tenantId }, via @requires) is the entity.
      __resolveReference: reference((ref) => ({
        id: representationField(ref, 'Shipment', 'id'),
        tenantId: representationField(ref, 'Shipment', 'tenantId'),
      })),
      /**
       * The owning tenant, batched across shipments. `tenantId` comes from the
       * representation, which the caller of `_entities` controls, so it is
       * never trusted: the scoped loader answers null for a tenant outside
       * the caller's scope and we refuse with NOT_FOUND, the same answer as
       * for an unknown tenant.
       */
      tenant: async (shipment: { id: string; tenantId: string }, _args, ctx: IdentityContext) => {
        callerOf(ctx.principal);
        const tenant = await ctx.loaders.tenantById.load(shipment.tenantId);
        if (!tenant) {
          ctx.logger.warn({ reason: 'tenant_not_visible', typename: 'Shipment' }, 'shipment representation names a tenant the caller may not see');
          throw new TenantNotFoundError();
        }
        return tenant;
      },
    },
  };
}
