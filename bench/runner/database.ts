/**
 * Bench child process: the database, alone, as a real deployment has it —
 * devdb, memory-only, seeded with `demoPlan(SHIPMENTS_PER_TENANT)`. Its
 * probe answers devdb's command counters (queries per request). Run by
 * bench/run.ts.
 */
import { startDevDb } from '../../devdb';
import { fieldCryptoOptions } from '../../lib/crypto/runtime';
import { connectDataStores } from '../../lib/db';
import { demoPlan } from '../../lib/demo';
import { SUBGRAPH_NAMES } from '../../schema';
import { SUBGRAPHS } from '../../subgraphs';
import { serveChild } from './child';
import { BENCH_DB, BENCH_DB_PLAIN, benchConfig, SHIPMENTS_PER_TENANT } from './world';

serveChild<{ mongoUri: string }>(async () => {
  const devdb = await startDevDb({ port: 0 });
  // Seeding goes through the subgraphs' own seed code (mongoose), then the connection is closed.
  const plan = demoPlan(SHIPMENTS_PER_TENANT);
  const dir = process.env.BENCH_DIR;
  if (!dir) throw new Error('BENCH_DIR is required');
  // The same plan twice: encrypted for the secured processes, plaintext for the open ones.
  for (const [db, encryption] of [
    [BENCH_DB, fieldCryptoOptions(benchConfig('secured', dir))],
    [BENCH_DB_PLAIN, 'off'],
  ] as const) {
    const stores = await connectDataStores(devdb.uri, db, encryption);
    for (const name of SUBGRAPH_NAMES) await SUBGRAPHS[name].seed(stores.forRegion(), plan);
    await stores.close();
  }
  return {
    info: { mongoUri: devdb.uri },
    probe: () => devdb.stats(),
    stop: () => devdb.stop(),
  };
});
