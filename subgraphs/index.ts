/**
 * The subgraph registry: how to build and seed each one. Used by the
 * all-in-one start script and the end-to-end test kit; each subgraph's own
 * index.ts runs it alone.
 */
import type { IncomingMessage } from 'node:http';
import type { Connection } from 'mongoose';
import type { Principal } from '../lib/context';
import type { PolicyOptions } from '../lib/policy';
import type { SubgraphName } from '../schema';
import type { AuditSink } from '../lib/audit';
import type { CredentialSettings } from '../lib/auth/credential-settings';
import type { AppEnv } from '../lib/config';
import type { DataStores } from '../lib/db';
import type { DemoPlan } from '../lib/demo';
import type { Logger } from '../lib/logger';
import type { SubgraphServer } from '../lib/subgraph';
import { buildDeviceSubgraph } from './device/server';
import { seed as seedDevice } from './device/seed';
import { buildIdentitySubgraph } from './identity/server';
import { seed as seedIdentity } from './identity/seed';
import { buildPrivacySubgraph } from './privacy/server';
import { seed as seedPrivacy } from './privacy/seed';
import { buildShipmentSubgraph } from './shipment/server';
import { seed as seedShipment } from './shipment/seed';

export interface SubgraphDeps {
  stores: DataStores;
  logger: Logger;
  audit: AuditSink;
  appEnv: AppEnv;
  /** Verifies the gateway's internal token: the only way in. */
  resolvePrincipal: (req: IncomingMessage) => Principal | Promise<Principal>;
  /** Options of the directive-compiled rules (operator tenant, step-up window). */
  policy?: PolicyOptions;
  /** Benchmarks only: see `SubgraphOptions.security` (lib/subgraph.ts). @default 'on' */
  security?: 'on' | 'off';
  /** Credential checks (identity: secrets, lockouts, SCIM; device: key assertions) and their clock. */
  credentials?: CredentialSettings;
}

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
