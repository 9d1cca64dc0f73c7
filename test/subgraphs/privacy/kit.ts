/**
 * Test kit of the privacy subgraph: the shared subgraph kit (test/kit/
 * subgraph.ts) on a database seeded from the demo plan (unless told
 * otherwise), in production mode, with a frozen clock and the models;
 * `gql` sends no principal header unless given one (an anonymous caller).
 */
import type { Principal } from '../../../lib/context';
import type { DemoPlan } from '../../../lib/demo';
import { asUser, codes, demoUser, reasons, startSubgraph, systemPrincipal, type GraphQLResponse, type SubgraphKit } from '../../kit/subgraph';
import { createModels, type PrivacyModels } from '../../../subgraphs/privacy/model';
import { buildPrivacySubgraph } from '../../../subgraphs/privacy/server';

export { asUser, codes, demoUser, reasons };

export type GqlResult<T = Record<string, any>> = GraphQLResponse<T>;

/** A clock that stands still until a test moves it. */
export interface FrozenClock {
  now(): Date;
  set(iso: string | Date): void;
  advance(ms: number): void;
}

export function frozenClock(start: string): FrozenClock {
  let t = Date.parse(start);
  return {
    now: () => new Date(t),
    set: (at) => {
      t = typeof at === 'string' ? Date.parse(at) : at.getTime();
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

export interface PrivacyKit extends SubgraphKit {
  models: PrivacyModels;
  clock: FrozenClock;
  close(): Promise<void>;
}

export const SYSTEM = systemPrincipal('test-system');

/** The privacy officer of tenant A (0) or B (1). */
export const officer = (plan: DemoPlan, tenantIndex: number): Principal => asUser(demoUser(plan, tenantIndex, 'PRIVACY_OFFICER'));

export async function startPrivacy(options: { seed?: boolean; now?: string } = {}): Promise<PrivacyKit> {
  const clock = frozenClock(options.now ?? '2025-03-10T09:30:00.000Z');
  // production: our errors must reach clients through the masking formatter with their codes.
  const kit = await startSubgraph('privacy', {
    seed: options.seed ?? true,
    appEnv: 'production',
    build: (deps) => buildPrivacySubgraph({ ...deps, now: clock.now }),
  });
  return { ...kit, models: createModels(kit.stores.forRegion()), clock, close: kit.stop };
}
