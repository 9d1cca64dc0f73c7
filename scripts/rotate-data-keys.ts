/**
 * `npm run keys:rotate-data -- --tenant T [--subjects] [--batch N]`: a new
 * data key version for the tenant (and with `--subjects` for each of its
 * data subjects), then the re-encryption of the tenant's stored values onto
 * the new versions, with a progress bar on stderr and a final count on
 * stdout; old versions nothing uses any more are retired.
 * `--resume` continues an interrupted job (Ctrl-C stops it cleanly between
 * batches; a killed run resumes from its last checkpoint).
 * `--due [--tenant T]` lists the keys older than KEY_ROTATION_DAYS instead.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config';
import { openFieldCrypto, fieldCryptoOptions } from '../lib/crypto/runtime';
import { dueKeys, formatDataRotation, formatDue, openKeyDatabase, progressBar, rotateDataKeys } from './key-rotation';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { tenant: { type: 'string' }, subjects: { type: 'boolean' }, batch: { type: 'string' }, resume: { type: 'boolean' }, due: { type: 'boolean' } },
    strict: true,
  });
  const batchSize = values.batch === undefined ? undefined : Number(values.batch);
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)) throw new Error('--batch must be an integer from 1 to 10000');
  if (!values.due && !values.tenant) throw new Error('name the tenant: --tenant <tenant id> (or --due to list keys due for rotation)');
  const config = loadConfig();
  const db = await openKeyDatabase(config);
  const crypto = await openFieldCrypto(db.conn, fieldCryptoOptions(config)).catch(async (err: unknown) => {
    await db.close();
    throw err;
  });
  try {
    process.stderr.write(`database: ${db.where}\n`);
    if (values.due) {
      process.stdout.write(formatDue(await dueKeys(crypto.vault, config.crypto.rotationDays, values.tenant), config.crypto.rotationDays));
      return;
    }
    const abort = new AbortController();
    const stop = () => {
      process.stderr.write('\nstopping after this batch (resume with --resume)…\n');
      abort.abort();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const bar = progressBar(process.stderr);
    try {
      const res = await rotateDataKeys({ conn: db.conn, vault: crypto.vault, tenantId: values.tenant!, subjects: values.subjects, batchSize, resume: values.resume, signal: abort.signal, onProgress: bar.update });
      bar.finish();
      process.stdout.write(formatDataRotation(res));
      if (res.job.status === 'interrupted') process.exitCode = 130;
    } catch (err) {
      bar.finish();
      throw err;
    }
  } finally {
    await db.close();
    await crypto.close();
  }
}

main().catch((err) => {
  process.stderr.write(`data key rotation failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
