/**
 * Bench internals: the settings every bench process shares — where the
 * signing keys live, the issuer of the access tokens, how much demo data
 * is seeded, and the environment of the secured and the open processes.
 */
import type { JWK } from 'jose';
import path from 'node:path';
import { FileKeyStore } from '../../lib/auth/keys';
import { LocalMasterKeyProvider } from '../../lib/crypto';
import { loadConfig, type AppEnv, type Config } from '../../lib/config';

/** Shipments seeded per tenant: the 50- and 100-shipment lists need more than the demo's 25. */
export const SHIPMENTS_PER_TENANT = 110;

/** The database the secured processes share: personal fields encrypted, as in production. */
export const BENCH_DB = 'tracksafe';
/** The same demo data in plaintext: what the open processes (security and encryption off) read. */
export const BENCH_DB_PLAIN = 'tracksafe_plain';

/** `iss` of the bench's access tokens (never reached: tokens are verified with local keys). */
export const BENCH_ISSUER = 'https://tracksafe.bench.invalid';

/** Large enough that no bench run is throttled: the limiters still run on every request. */
export const UNTHROTTLED_RATE_LIMIT = '100000000/60';
export const UNTHROTTLED_COST_BUDGET = '1000000000';

/**
 * Environment of a Tracksafe process in the bench. The secured processes
 * run as production (production query limits and cost ceiling, trusted
 * documents enforced with every unregistered client open, masked errors),
 * with rate limits and the cost budget raised so the bench is not
 * throttled; the open ones (security 'off', refused in production) as
 * staging.
 */
export function benchEnv(kind: 'secured' | 'open', dir: string): Record<string, string> {
  return {
    APP_ENV: kind === 'secured' ? 'production' : 'staging',
    LOG_LEVEL: 'silent',
    SEED: 'false',
    DATA_DIR: path.join(dir, 'data'),
    KEYS_DIR: path.join(dir, 'keys'),
    PLATFORM_ISSUER: BENCH_ISSUER,
    RATE_LIMIT_IP: UNTHROTTLED_RATE_LIMIT,
    RATE_LIMIT_PRINCIPAL: UNTHROTTLED_RATE_LIMIT,
    RATE_LIMIT_TENANT: UNTHROTTLED_RATE_LIMIT,
    COST_BUDGET_PER_MINUTE: UNTHROTTLED_COST_BUDGET,
    // A master key file rather than an HSM (the bench's secured processes share it, createBenchKeys makes it).
    LOCAL_MASTER_KEY_ALLOW_IN_PRODUCTION: 'true',
  };
}

export function benchConfig(kind: 'secured' | 'open', dir: string): Config {
  return loadConfig(benchEnv(kind, dir));
}

/** Creates the production signing keys the secured processes share (production never generates its own). */
export async function createBenchKeys(dir: string): Promise<void> {
  for (const purpose of ['platform', 'internal'] as const) await FileKeyStore.open({ dir: path.join(dir, 'keys'), env: 'production' as AppEnv, purpose, generate: true });
  const master = await LocalMasterKeyProvider.open({ keysDir: path.join(dir, 'keys'), env: 'production', generate: true, allowLocalInProduction: true });
  await master.close();
}

/** The gateway's public internal keys (what a subgraph verifies hop tokens with). */
export async function internalJwks(dir: string): Promise<{ keys: JWK[] }> {
  return (await FileKeyStore.open({ dir: path.join(dir, 'keys'), env: 'production', purpose: 'internal', generate: false })).jwks();
}

/** The platform keys, to mint access tokens in the runner. */
export function openPlatformKeys(dir: string): Promise<FileKeyStore> {
  return FileKeyStore.open({ dir: path.join(dir, 'keys'), env: 'production', purpose: 'platform', generate: false });
}
