/**
 * Bench child process: the database, alone, as a real deployment has it —
 * devdb, memory-only, seeded with `demoPlan(SHIPMENTS_PER_TENANT)`. Its
 * probe answers devdb's command counters (queries per request). Run by
 * bench/run.ts.
 */
import { startDevDb } from '../../devdb';
import { connectDataStores } from '../../lib/db';
import { demoPlan } from '../../lib/demo';
import { SUBGRAPH_NAMES } from '../../schema';
import { SUBGRAPHS } from '../../subgraphs';
import { serveChild } from './child';
import { BENCH_DB, SHIPMENTS_PER_TENANT } from './world';

serveChild<{ mongoUri: string }>(async () => {
  const devdb = await startDevDb({ port: 0 });
  // Seeding goes through the subgraphs' own seed code (mongoose), then the connection is closed.
  const stores = await connectDataStores(devdb.uri, BENCH_DB);
  const plan = demoPlan(SHIPMENTS_PER_TENANT);
  for (const name of SUBGRAPH_NAMES) await SUBGRAPHS[name].seed(stores.forRegion(), plan);
  await stores.close();
  return {
    info: { mongoUri: devdb.uri },
    probe: () => devdb.stats(),
    stop: () => devdb.stop(),
  };
});
