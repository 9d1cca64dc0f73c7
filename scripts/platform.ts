/**
 * Starts the whole platform in one process: the database (embedded devdb
 * unless a MongoDB URI is given), the four subgraphs and the gateway. Used
 * by `npm start` and by the end-to-end test kit, so both run the same code.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevDb, type DevDb } from '../devdb';
import { MongoAuditSink } from '../lib/audit';
import { credentialSettingsFrom } from '../lib/auth/credential-settings';
import { createInternalTokenVerifier } from '../lib/auth/internal-token';
import { createGatewayAuth, type GatewayAuth } from '../lib/auth/runtime';
import { policyOptionsFrom } from '../lib/policy';
import type { Config } from '../lib/config';
import { fieldCryptoOptions } from '../lib/crypto/runtime';
import { connectDataStores, type DataStores } from '../lib/db';
import { demoPlan } from '../lib/demo';
import type { Logger } from '../lib/logger';
import type { SubgraphServer } from '../lib/subgraph';
import { createGateway, gatewayOptionsFrom, type GatewayServer } from '../gateway/server';
import { SUBGRAPH_NAMES, type SubgraphName } from '../schema';
import { SUBGRAPHS } from '../subgraphs';

export interface PlatformOptions {
  config: Config;
  logger: Logger;
  /** Ports 0 everywhere and a memory-only devdb (tests). @default false */
  ephemeral?: boolean;
  /**
   * The clock of credential checks (contract ends, TOTP steps, assertion
   * lifetimes, secret overlaps) and of the gateway's status cache; tests
   * freeze it. Tokens keep real time.
   * @default () => new Date()
   */
  credentialClock?: () => Date;
}

export interface Platform {
  gatewayUrl: string;
  subgraphUrls: Record<SubgraphName, string>;
  mongoUri: string;
  devdb?: DevDb;
  stores: DataStores;
  /** Keys, issuer and verifier (tests mint tokens with `auth.issuer`). */
  auth: GatewayAuth;
  gateway: GatewayServer;
  subgraphs: Record<SubgraphName, SubgraphServer>;
  /** Seeded demo data this run (false when the database already had it or seeding is off). */
  seeded: boolean;
  stop(): Promise<void>;
}

export async function startPlatform({ config, logger, ephemeral = false, credentialClock }: PlatformOptions): Promise<Platform> {
  let devdb: DevDb | undefined;
  let mongoUri = config.mongodbUri;
  if (!mongoUri) {
    devdb = await startDevDb({
      port: ephemeral ? 0 : config.devdbPort,
      dataDir: ephemeral ? undefined : path.join(config.dataDir, 'devdb'),
      logger: { info: (m, f) => logger.info(f ?? {}, m), warn: (m, f) => logger.warn(f ?? {}, m), error: (m, f) => logger.error(f ?? {}, m) },
    });
    mongoUri = devdb.uri;
  }
  const stores = await connectDataStores(mongoUri, config.mongodbDb, fieldCryptoOptions(ephemeral ? ephemeralCrypto(config) : config, logger));
  const conn = stores.forRegion();
  let seeded = false;
  if (config.seed) {
    const plan = demoPlan();
    const before = await conn.db!.collection('shipments').estimatedDocumentCount();
    for (const name of SUBGRAPH_NAMES) await SUBGRAPHS[name].seed(conn, plan);
    seeded = before === 0;
  }
  const audit = new MongoAuditSink(conn);
  const auth = await createGatewayAuth(config, { ephemeral });
  const subgraphs = {} as Record<SubgraphName, SubgraphServer>;
  const subgraphUrls = {} as Record<SubgraphName, string>;
  for (const name of SUBGRAPH_NAMES) {
    const internal = createInternalTokenVerifier({ audience: name, keys: auth.internalKeys });
    const sg = await SUBGRAPHS[name].build({
      stores,
      logger: logger.child({ service: name }),
      audit,
      appEnv: config.appEnv,
      resolvePrincipal: (req) => internal.verify(req.headers.authorization),
      policy: policyOptionsFrom(config),
      credentials: { ...credentialSettingsFrom(config), ...(credentialClock ? { now: credentialClock } : {}) },
    });
    const port = await sg.listen(ephemeral ? 0 : config.subgraphs[name].port, config.host);
    subgraphs[name] = sg;
    subgraphUrls[name] = `http://127.0.0.1:${port}/graphql`;
  }
  const gateway = await createGateway({
    ...gatewayOptionsFrom(config),
    subgraphUrls,
    logger: logger.child({ service: 'gateway' }),
    audit,
    auth,
    credentials: { statusCacheMs: config.principalStatusCacheMs, ...(credentialClock ? { now: () => credentialClock().getTime() } : {}) },
  });
  const gatewayPort = await gateway.listen(ephemeral ? 0 : config.gatewayPort, config.host);
  return {
    gatewayUrl: `${gateway.protocol}://127.0.0.1:${gatewayPort}/graphql`,
    subgraphUrls,
    mongoUri,
    devdb,
    stores,
    auth,
    gateway,
    subgraphs,
    seeded,
    async stop() {
      // Front to back: the gateway drains first, then the subgraphs, then the database.
      await gateway.stop();
      await Promise.all(Object.values(subgraphs).map((s) => s.stop()));
      await stores.close();
      await devdb?.stop();
    },
  };
}

/** An ephemeral platform (tests) keeps its local master key in a temporary folder, never in the data folder. */
function ephemeralCrypto(config: Config): Config {
  if (config.crypto.masterKey.kind !== 'local') return config;
  const keysDir = mkdtempSync(path.join(os.tmpdir(), 'tracksafe-keys-'));
  // A throwaway key, generated in any environment (production still refuses it unless allowed).
  return { ...config, crypto: { ...config.crypto, masterKey: { ...config.crypto.masterKey, keysDir, generate: true } } };
}
