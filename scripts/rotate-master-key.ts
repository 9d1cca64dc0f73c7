/**
 * `npm run keys:rotate-master -- --to <name> [--from <name>] [--tenant T]`:
 * rewraps every data key (of one tenant) wrapped by the configured master
 * key (or `--from`) under a new master key of the same kind. No stored value
 * changes. Resumable: run it again until nothing is left. Then switch
 * MASTER_KEY_NAME and keep the old key until no data key names it.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config';
import { formatMasterRotation, openKeyDatabase, rotateMasterKey } from './key-rotation';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { to: { type: 'string' }, from: { type: 'string' }, tenant: { type: 'string' } }, strict: true });
  if (!values.to) throw new Error('name the new master key: --to <name>');
  const config = loadConfig();
  const db = await openKeyDatabase(config);
  try {
    process.stderr.write(`database: ${db.where}\n`);
    const res = await rotateMasterKey({ conn: db.conn, masterKey: config.crypto.masterKey, to: values.to, from: values.from, tenantId: values.tenant });
    process.stdout.write(formatMasterRotation(res, { tenantId: values.tenant, to: values.to }));
  } finally {
    await db.close();
  }
}

main().catch((err) => {
  process.stderr.write(`master key rotation failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
