/**
 * Test kit of the identity subgraph: the shared subgraph kit (test/kit/
 * subgraph.ts) on a database seeded from the demo plan (unless told
 * otherwise), in production mode, with the models; `gql` sends no principal
 * header unless given one (an anonymous caller).
 */
import { asUser, codes, demoUser, startSubgraph, systemPrincipal, type GraphQLResponse, type SubgraphKit } from '../../kit/subgraph';
import { createModels, type IdentityModels } from '../../../subgraphs/identity/model';

export { asUser, codes, demoUser };

export type GqlResult<T = Record<string, any>> = GraphQLResponse<T>;

export interface IdentityKit extends SubgraphKit {
  models: IdentityModels;
  close(): Promise<void>;
}

export const SYSTEM = systemPrincipal('test-system');

export async function startIdentity(options: { seed?: boolean } = {}): Promise<IdentityKit> {
  // production: our errors must reach clients through the masking formatter with their codes.
  const kit = await startSubgraph('identity', { seed: options.seed ?? true, appEnv: 'production' });
  return { ...kit, models: createModels(kit.stores.forRegion()), close: kit.stop };
}
