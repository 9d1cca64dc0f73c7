/**
 * Bench child process: one subgraph, as each runs in its own container.
 *
 * - secured (`BENCH_SUBGRAPH` = "<name>:secured"): APP_ENV production,
 *   the gateway's internal hop token verified on every request (against
 *   the gateway's public internal keys, `BENCH_INTERNAL_JWKS`),
 *   graphql-shield rules compiled from the directives, audit to the
 *   database;
 * - plaintext ("<name>:plaintext"): secured as above, but reading the
 *   plaintext copy of the data with field encryption off — the other half
 *   of the encryption benchmark (pii100);
 * - open ("<name>:open"): the same subgraph with `security: 'off'` (the
 *   bench-only switch: every caller is a system principal, no rules),
 *   APP_ENV staging.
 *
 * Both read the database at `BENCH_MONGO_URI`. Run by bench/run.ts.
 */
import type { JSONWebKeySet } from 'jose';
import { MongoAuditSink } from '../../lib/audit';
import { credentialSettingsFrom } from '../../lib/auth/credential-settings';
import { createInternalTokenVerifier } from '../../lib/auth/internal-token';
import { fieldCryptoOptions } from '../../lib/crypto/runtime';
import { connectDataStores } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { policyOptionsFrom } from '../../lib/policy';
import { isSubgraphName } from '../../schema';
import { SUBGRAPHS } from '../../subgraphs';
import { serveChild } from './child';
import { BENCH_DB, BENCH_DB_PLAIN, benchConfig } from './world';

serveChild<{ url: string }>(async () => {
  const [name, kind] = (process.env.BENCH_SUBGRAPH ?? '').split(':');
  const dir = process.env.BENCH_DIR;
  const mongoUri = process.env.BENCH_MONGO_URI;
  if (!isSubgraphName(name) || (kind !== 'secured' && kind !== 'plaintext' && kind !== 'open') || !dir || !mongoUri)
    throw new Error('BENCH_SUBGRAPH (<name>:secured|plaintext|open), BENCH_DIR and BENCH_MONGO_URI are required');
  const secured = kind !== 'open';
  const config = benchConfig(secured ? 'secured' : 'open', dir);
  // Secured: the encrypted data, decrypted per request; plaintext and open: the plaintext copy, no encryption at all.
  const stores = kind === 'secured' ? await connectDataStores(mongoUri, BENCH_DB, fieldCryptoOptions(config)) : await connectDataStores(mongoUri, BENCH_DB_PLAIN, 'off');
  const internal = secured ? createInternalTokenVerifier({ audience: name, keys: { jwks: JSON.parse(process.env.BENCH_INTERNAL_JWKS ?? '') as JSONWebKeySet } }) : undefined;
  const sg = await SUBGRAPHS[name].build({
    stores,
    logger: createLogger(name, 'silent'),
    audit: new MongoAuditSink(stores.forRegion()),
    appEnv: config.appEnv,
    // Open: unused (every caller is a system principal); routes that check their caller refuse.
    resolvePrincipal: internal ? (req) => internal.verify(req.headers.authorization) : () => Promise.reject(new Error("security 'off': no internal routes")),
    policy: policyOptionsFrom(config),
    credentials: credentialSettingsFrom(config),
    ...(secured ? {} : { security: 'off' as const }),
  });
  const port = await sg.listen(0, '127.0.0.1');
  return {
    info: { url: `http://127.0.0.1:${port}/graphql` },
    async stop() {
      await sg.stop();
      await stores.close();
    },
  };
});
