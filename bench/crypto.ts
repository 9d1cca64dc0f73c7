/**
 * Field encryption throughput against raw AES-256-GCM on the same bytes.
 *
 * For values of a few typical sizes (a name, an email, delivery notes) it
 * measures operations per second of:
 * - raw:   createCipheriv('aes-256-gcm') with a fresh 96-bit nonce from the
 *          same pooled CSPRNG source lib/crypto uses (and the matching
 *          decipher) on the value's UTF-8 bytes, key in a KeyObject, no AAD;
 * - seal:  lib/crypto's sealValue/openValue with a data key in hand (envelope,
 *          type byte, canonical associated data);
 * - field: FieldEncryptor.encryptValue/decryptValue, as a service calls it
 *          (vault lookup of the cached data key, async, plus all of the above).
 * and prints field and seal time per operation as a multiple of raw.
 *
 * The vault is warm (keys cached), as it is in a running subgraph; the
 * store is in memory, so no database time is counted.
 *
 * Not a test: run by hand, takes a few seconds.
 *   npx tsx bench/crypto.ts [--ops 50000] [--save]
 * `--save` writes bench/results/crypto-<date>.json.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createFieldEncryptor, openValue, sealValue, type FieldContext } from '../lib/crypto/fields';
import { KeyVault } from '../lib/crypto/key-vault';
import { randomNonce } from '../lib/crypto/nonce';
import { LocalMasterKeyProvider } from '../lib/crypto/providers/local';
import { MemoryKeyVaultStore } from '../lib/crypto/vault-store';

/** Report lines for whoever runs this by hand (stdout, not a log). */
const print = (...parts: unknown[]): void => void process.stdout.write(parts.join(' ') + '\n');

interface Row {
  value: string;
  bytes: number;
  rawEncryptPerSec: number;
  rawDecryptPerSec: number;
  sealPerSec: number;
  openPerSec: number;
  fieldEncryptPerSec: number;
  fieldDecryptPerSec: number;
  sealRatio: number;
  encryptRatio: number;
  openRatio: number;
  decryptRatio: number;
}

const VALUES: Array<[string, string]> = [
  ['name (12 B)', 'Jane Q. Doe!'],
  ['email (32 B)', 'jane.doe+parcels@example-mail.io'],
  ['notes (512 B)', 'Leave at the back door, code 4711. '.repeat(15).slice(0, 512)],
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Runs the contenders in interleaved rounds (order rotated each round) so
 * that all of them see the same machine load, and reports per contender the
 * median operations per second and the median per-round time ratio to the
 * first contender (raw). The machine may be shared: ratios are steadier
 * than rates.
 */
async function race(ops: number, contenders: Array<() => unknown>): Promise<{ perSec: number[]; ratio: number[] }> {
  const rounds = 15;
  const batch = Math.max(1, Math.floor(ops / rounds));
  for (const run of contenders) for (let i = 0; i < Math.min(5000, ops); i++) await run(); // warm-up: JIT, caches
  const times: number[][] = contenders.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < contenders.length; j++) {
      const c = (j + r) % contenders.length;
      const run = contenders[c];
      const t0 = performance.now();
      for (let i = 0; i < batch; i++) await run();
      times[c].push(performance.now() - t0);
    }
  }
  return {
    perSec: times.map((t) => Math.round(batch / (median(t) / 1000))),
    ratio: times.map((t) => +median(t.map((ms, r) => ms / times[0][r])).toFixed(2)),
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opsIdx = args.indexOf('--ops');
  const ops = opsIdx >= 0 ? Number(args[opsIdx + 1]) : 50_000;
  const keysDir = mkdtempSync(join(tmpdir(), 'tracksafe-bench-'));
  try {
    const master = await LocalMasterKeyProvider.open({ keysDir, env: 'development' });
    const vault = new KeyVault({ store: new MemoryKeyVaultStore(), env: 'development', masterKey: master });
    const fe = createFieldEncryptor({ vault });
    const ctx: FieldContext = { tenantId: 'tenant-bench', collection: 'shipments', field: 'recipient.name', documentId: '665f1c2e9b1e8a3d4c5b6a79', subjectId: 'recipient-1' };
    const dataKey = await vault.dataKeyFor({ tenantId: ctx.tenantId, subjectId: ctx.subjectId });
    const rawKey = createSecretKey(randomBytes(32));
    const rows: Row[] = [];

    for (const [label, value] of VALUES) {
      const bytes = Buffer.from(value, 'utf8');
      const rawEncrypt = () => {
        const nonce = randomNonce();
        const c = createCipheriv('aes-256-gcm', rawKey, nonce);
        const body = Buffer.concat([c.update(bytes), c.final()]);
        return { nonce, body, tag: c.getAuthTag() };
      };
      const sample = rawEncrypt();
      const rawDecrypt = () => {
        const d = createDecipheriv('aes-256-gcm', rawKey, sample.nonce);
        d.setAuthTag(sample.tag);
        return Buffer.concat([d.update(sample.body), d.final()]);
      };
      const envelope = await fe.encryptValue(value, ctx);
      const enc = await race(ops, [rawEncrypt, () => sealValue(value, dataKey, ctx), () => fe.encryptValue(value, ctx)]);
      const dec = await race(ops, [rawDecrypt, () => openValue(envelope, dataKey, ctx), () => fe.decryptValue(envelope, ctx)]);
      rows.push({
        value: label,
        bytes: bytes.length,
        rawEncryptPerSec: enc.perSec[0],
        sealPerSec: enc.perSec[1],
        fieldEncryptPerSec: enc.perSec[2],
        sealRatio: enc.ratio[1],
        encryptRatio: enc.ratio[2],
        rawDecryptPerSec: dec.perSec[0],
        openPerSec: dec.perSec[1],
        fieldDecryptPerSec: dec.perSec[2],
        openRatio: dec.ratio[1],
        decryptRatio: dec.ratio[2],
      });
    }

    const k = (n: number) => `${(n / 1000).toFixed(1)}k`;
    print(`\nField encryption vs raw AES-256-GCM (${ops} ops each, Node ${process.version}, ${cpus()[0]?.model ?? 'cpu'})\n`);
    print('| value | raw enc/s | seal/s | field enc/s | enc × raw | raw dec/s | open/s | field dec/s | dec × raw |');
    print('|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      print(
        `| ${r.value} | ${k(r.rawEncryptPerSec)} | ${k(r.sealPerSec)} (${r.sealRatio}×) | ${k(r.fieldEncryptPerSec)} | ${r.encryptRatio}× | ${k(r.rawDecryptPerSec)} | ${k(r.openPerSec)} (${r.openRatio}×) | ${k(r.fieldDecryptPerSec)} | ${r.decryptRatio}× |`,
      );
    }
    print('\n"× raw": median over interleaved rounds of the time per operation divided by raw AES-256-GCM on the same bytes (lower is better).');
    if (args.includes('--save')) {
      mkdirSync(join(__dirname, 'results'), { recursive: true });
      const file = join(__dirname, 'results', `crypto-${new Date().toISOString().slice(0, 10)}.json`);
      writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), node: process.version, ops, rows }, null, 2)}\n`);
      print(`saved ${file}`);
    }
  } finally {
    rmSync(keysDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
