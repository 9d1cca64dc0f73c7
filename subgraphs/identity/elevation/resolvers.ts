/**
 * Thin resolvers of just-in-time elevation, and `withElevations`, which
 * mounts them on the identity subgraph's resolver map (server.ts).
 */
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { writeContextOf } from '../../../lib/caller';
import { pageRequest, toConnection } from '../../../lib/pagination';
import type { IdentityContext } from '../resolvers';
import type { RequestElevationInput } from './input';
import type { Elevation, ElevationService, ElevationStatus } from './service';

interface ElevationsArgs {
  status?: ElevationStatus | null;
  first?: number | null;
  after?: string | null;
}

export function createElevationResolvers(service: ElevationService) {
  return {
    Query: {
      elevations: async (_root: unknown, args: ElevationsArgs, ctx: IdentityContext) => {
        const write = writeContextOf(ctx);
        const page = pageRequest(args.first, args.after);
        const { items, totalCount } = await service.list(write, args.status, page);
        return toConnection<Elevation>(items, page.first, (e) => ({ k: e.requestedAt.getTime(), id: e.id }), totalCount);
      },
      myActiveElevations: (_root: unknown, _args: unknown, ctx: IdentityContext) => service.myActive(writeContextOf(ctx)),
    },
    Mutation: {
      requestElevation: (_root: unknown, args: { input: RequestElevationInput }, ctx: IdentityContext) => service.request(writeContextOf(ctx), args.input),
      approveElevation: (_root: unknown, args: { id: string }, ctx: IdentityContext) => service.approve(writeContextOf(ctx), args.id),
      denyElevation: (_root: unknown, args: { id: string; reason: string }, ctx: IdentityContext) => service.deny(writeContextOf(ctx), args.id, args.reason),
    },
  };
}

/** `resolvers` with the elevation fields added to its Query and Mutation. */
export function withElevations(resolvers: GraphQLResolverMap<IdentityContext>, service: ElevationService): GraphQLResolverMap<IdentityContext> {
  const elevation = createElevationResolvers(service);
  return {
    ...resolvers,
    Query: { ...resolvers.Query, ...elevation.Query },
    Mutation: { ...resolvers.Mutation, ...elevation.Mutation },
  } as GraphQLResolverMap<IdentityContext>;
}
