/**
 * `npx tsx bench/encryption-list.ts [rounds]`: the data-layer cost of field
 * encryption on a 100-shipment list. The same demo shipments are seeded
 * twice into one devdb — encrypted (envelopes under each recipient's key)
 * and in plaintext (encryption off) — and the shipment service's list query
 * (`Shipment.find(...).limit(100).lean()`, decrypting through the plugin)
 * runs against both, alternating A B A B so machine drift cancels. Reports
 * the median per-round latency ratio encrypted ÷ plaintext, with the key
 * cache warm (the steady state) and cold (every round clears it: one
 * key_vault query and 100 unwraps per list). The full GraphQL scenario
 * through the gateway is `npm run bench -- list50` (secured reads the
 * encrypted copy, the peers the plaintext one).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startDevDb } from '../devdb';
import { loadCryptoConfig } from '../lib/crypto';
import { connectDataStores, type DataStores } from '../lib/db';
import { demoPlan } from '../lib/demo';
import { createModels } from '../subgraphs/shipment/model';
import { seed } from '../subgraphs/shipment/seed';

const ROUNDS = Number(process.argv[2] ?? 30);
const PER_ROUND = 20;

async function main(): Promise<void> {
  const devdb = await startDevDb({ port: 0 });
  const keysDir = mkdtempSync(path.join(os.tmpdir(), 'tracksafe-bench-keys-'));
  const plan = demoPlan(100);
  const tenantId = plan.tenants[0].id;
  const encrypted = await connectDataStores(devdb.uri, 'enc', { appEnv: 'development', crypto: loadCryptoConfig({}, { appEnv: 'development', keysDir }) });
  const plain = await connectDataStores(devdb.uri, 'plain', 'off');
  try {
    for (const s of [encrypted, plain]) await seed(s.forRegion(), plan);
    const list = (s: DataStores) => createModels(s.forRegion()).Shipment.find({ tenantId }).sort({ createdAt: -1, _id: -1 }).limit(100).lean();
    const check = await list(encrypted);
    if (check.length !== 100 || typeof check[0].recipient?.name !== 'string') throw new Error('the encrypted list did not decrypt 100 shipments');
    const time = async (s: DataStores, cold: boolean) => {
      let total = 0;
      for (let i = 0; i < PER_ROUND; i++) {
        if (cold) encrypted.fieldCrypto!.vault.clearCache();
        const t = performance.now();
        await list(s);
        total += performance.now() - t;
      }
      return total / PER_ROUND;
    };
    for (const cold of [false, true]) {
      for (let i = 0; i < 3; i++) await Promise.all([time(encrypted, cold), time(plain, cold)].map((p) => p.catch(() => 0)));
      const ratios: number[] = [];
      const enc: number[] = [];
      const pla: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const a = await time(encrypted, cold);
        const b = await time(plain, cold);
        enc.push(a);
        pla.push(b);
        ratios.push(a / b);
      }
      const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
      process.stdout.write(
        `${cold ? 'cold key cache' : 'warm key cache'}: encrypted ${median(enc).toFixed(2)} ms, plaintext ${median(pla).toFixed(2)} ms per 100-shipment list; ratio (median of ${ROUNDS} rounds) ${median(ratios).toFixed(3)}×\n`,
      );
    }
  } finally {
    await encrypted.close();
    await plain.close();
    await devdb.stop();
    rmSync(keysDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
