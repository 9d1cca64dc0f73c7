/**
 * `npm run keys:rotate-master -- --to <name|provider:name> [--from <name|provider:name>] [--tenant T]`:
 * rewraps every data key wrapped by the configured master key (or `--from`)
 * under a new master key — a name is one of the same kind, a reference
 * `<provider>:<name>` any — and those of tenants with their own key
 * (TENANT_MASTER_KEYS) onto theirs. With `--tenant T`, every data key of
 * that tenant not yet wrapped by `--to` (e.g. onto its own key, BYOK). No
 * stored value changes. Resumable: run it again until nothing is left. Then
 * switch MASTER_KEY_NAME (or TENANT_MASTER_KEYS) and keep the old key until
 * no data key names it.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config';
import { formatMasterRotation, openKeyDatabase, rotateMasterKey } from './key-rotation';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { to: { type: 'string' }, from: { type: 'string' }, tenant: { type: 'string' } }, strict: true });
  if (!values.to) throw new Error('name the new master key: --to <name> or --to <provider>:<name>');
  const config = loadConfig();
  const db = await openKeyDatabase(config);
  try {
    process.stderr.write(`database: ${db.where}\n`);
    const res = await rotateMasterKey({
      conn: db.conn,
      masterKey: config.crypto.masterKey,
      tenantMasterKeys: config.crypto.tenantMasterKeys,
      keySettings: config.crypto.keySettings,
      to: values.to,
      from: values.from,
      tenantId: values.tenant,
    });
    process.stdout.write(formatMasterRotation(res, { tenantId: values.tenant, to: values.to }));
  } finally {
    await db.close();
  }
}

main().catch((err) => {
  process.stderr.write(`master key rotation failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
