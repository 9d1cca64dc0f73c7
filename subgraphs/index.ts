/**
 * The subgraph registry: how to build and seed each one. Used by the
 * all-in-one start script and the end-to-end test kit; each subgraph's own
 * index.ts runs it alone.
 */
import type { Connection } from 'mongoose';
import type { SubgraphName } from '../schema';
import type { DemoPlan } from '../lib/demo';
import type { SubgraphDeps, SubgraphServer } from '../lib/subgraph';

export type { SubgraphDeps };
import { buildDeviceSubgraph } from './device/server';
import { seed as seedDevice } from './device/seed';
import { buildIdentitySubgraph } from './identity/server';
import { seed as seedIdentity } from './identity/seed';
import { buildPrivacySubgraph } from './privacy/server';
import { seed as seedPrivacy } from './privacy/seed';
import { buildShipmentSubgraph } from './shipment/server';
import { seed as seedShipment } from './shipment/seed';


export interface SubgraphModule {
  build(deps: SubgraphDeps): Promise<SubgraphServer>;
  seed(conn: Connection, plan: DemoPlan): Promise<void>;
}

export const SUBGRAPHS: Record<SubgraphName, SubgraphModule> = {
  shipment: { build: buildShipmentSubgraph, seed: seedShipment },
  device: { build: buildDeviceSubgraph, seed: seedDevice },
  identity: { build: buildIdentitySubgraph, seed: seedIdentity },
  privacy: { build: buildPrivacySubgraph, seed: seedPrivacy },
};
