/**
 * Assembles the gateway's authentication from configuration: the platform
 * and internal key stores, the token issuer, the verifier, the internal
 * hop signer. Keys are generated under KEYS_DIR in development and must be
 * provided in staging and production; tests use in-memory keys.
 */
import type { Config } from '../config';
import { createTokenIssuer, type TokenIssuer } from './access-token';
import { createInternalTokenSigner, type InternalTokenSigner } from './internal-token';
import { FileKeyStore, MemoryKeyStore, type KeyStore } from './keys';
import { createTokenVerifier, type TokenVerifier } from './verify-token';

export interface GatewayAuth {
  platformKeys: KeyStore;
  internalKeys: KeyStore;
  issuer: TokenIssuer;
  verifier: TokenVerifier;
  internalSigner: InternalTokenSigner;
}

export async function createGatewayAuth(config: Config, opts: { ephemeral?: boolean } = {}): Promise<GatewayAuth> {
  const open = (purpose: 'platform' | 'internal') =>
    opts.ephemeral
      ? MemoryKeyStore.create(config.appEnv, purpose)
      : FileKeyStore.open({ dir: config.keysDir, env: config.appEnv, purpose, generate: config.appEnv === 'development' });
  const [platformKeys, internalKeys] = await Promise.all([open('platform'), open('internal')]);
  return {
    platformKeys,
    internalKeys,
    issuer: createTokenIssuer({ issuer: config.platformIssuer, keys: platformKeys }),
    verifier: createTokenVerifier({ issuer: config.platformIssuer, keys: platformKeys, externalIssuers: config.trustedIssuers }),
    internalSigner: createInternalTokenSigner(internalKeys),
  };
}
