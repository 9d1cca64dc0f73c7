/**
 * `npm run tenant:shred -- --tenant <id> --confirm <id>`: deletes a tenant
 * by crypto-shredding — every data key of the tenant (its own and all its
 * data subjects') is destroyed, so all its encrypted values become
 * unreadable in this database, its replicas and its backups, and the blind
 * indexes of its documents are removed (lib/crypto/erasure.ts
 * `eraseTenant`). Documents are not deleted: their non-personal fields stay
 * for retention jobs and legal holds. Irreversible, hence `--confirm`
 * repeating the tenant id; idempotent, so running it again is safe.
 *
 * Same configuration and database as the key commands (scripts/key-rotation.ts
 * `openKeyDatabase`, `MASTER_KEY_*`); audited as `tenant.shredded` (ids
 * and counts). Running services keep decrypting with their cached keys for
 * up to DATA_KEY_CACHE_TTL_MS: stop writes to the tenant first, and run the
 * command again after that time to remove indexes written meanwhile.
 */
import { parseArgs } from 'node:util';
import { MongoAuditSink } from '../lib/audit';
import { loadConfig } from '../lib/config';
import { eraseTenant, totalUnindexed, type ErasureResult } from '../lib/crypto/erasure';
import { fieldCryptoOptions, openFieldCrypto } from '../lib/crypto/runtime';
import { encryptedModels } from '../subgraphs/encrypted-models';
import { openKeyDatabase } from './key-rotation';

/** Exit status of a refused command line (nothing was opened or changed). */
export const EXIT_REFUSED = 2;

const TENANT_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

export interface TenantShredIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/** The tenant id to shred, or why the command line is refused. */
export function parseTenantShredArgs(argv: readonly string[]): { tenantId: string } | { refused: string } {
  let values: { tenant?: string; confirm?: string };
  try {
    ({ values } = parseArgs({ args: [...argv], options: { tenant: { type: 'string' }, confirm: { type: 'string' } }, strict: true, allowPositionals: false }));
  } catch (err) {
    return { refused: (err as Error).message };
  }
  if (!values.tenant) return { refused: 'name the tenant: --tenant <tenant id> --confirm <tenant id>' };
  if (!TENANT_ID.test(values.tenant)) return { refused: '--tenant must be 1-128 letters, digits or ._:@-' };
  if (values.confirm === undefined) return { refused: `shredding a tenant cannot be undone: repeat its id to confirm (--confirm ${values.tenant})` };
  if (values.confirm !== values.tenant) return { refused: '--confirm does not match --tenant: nothing was shredded' };
  return { tenantId: values.tenant };
}

export function formatTenantShred(tenantId: string, r: ErasureResult, cacheTtlMs: number): string {
  const per = Object.entries(r.documentsUnindexed)
    .map(([c, n]) => `${c}: ${n}`)
    .join(', ');
  return [
    `tenant ${tenantId} shredded: ${r.keysDestroyed} data key(s) destroyed; blind indexes removed from ${totalUnindexed(r)} document(s)${per ? ` (${per})` : ''}`,
    `its encrypted values are unreadable from now on, in copies and backups too (running services: within ${cacheTtlMs} ms, DATA_KEY_CACHE_TTL_MS)`,
    `run this command again after that time if the tenant's services were still writing; it only finds what is left`,
  ].join('\n') + '\n';
}

/** The command: parses, refuses or shreds; resolves to the exit status. */
export async function runTenantShred(argv: readonly string[], env: NodeJS.ProcessEnv, io: TenantShredIo): Promise<number> {
  const args = parseTenantShredArgs(argv);
  if ('refused' in args) {
    io.stderr.write(`tenant shred refused: ${args.refused}\n`);
    return EXIT_REFUSED;
  }
  const { tenantId } = args;
  try {
    const config = loadConfig(env);
    // The operator's own tenant holds the people who administer every other one: shredding it would lock them out.
    if (config.operatorTenantId === tenantId) {
      io.stderr.write(`tenant shred refused: ${tenantId} is the platform operator's own tenant (PLATFORM_OPERATOR_TENANT_ID)\n`);
      return EXIT_REFUSED;
    }
    const db = await openKeyDatabase(config);
    const crypto = await openFieldCrypto(db.conn, fieldCryptoOptions(config)).catch(async (err: unknown) => {
      await db.close();
      throw err;
    });
    try {
      io.stderr.write(`database: ${db.where}\n`);
      const result = await eraseTenant(encryptedModels(db.conn), crypto.vault, tenantId);
      await new MongoAuditSink(db.conn).record({
        type: 'tenant.shredded',
        actor: 'system:tenant-shred',
        tenantId,
        target: `Tenant:${tenantId}`,
        details: { keysDestroyed: result.keysDestroyed, documentsUnindexed: result.documentsUnindexed },
      });
      io.stdout.write(formatTenantShred(tenantId, result, config.crypto.dataKeyCacheTtlMs));
      return 0;
    } finally {
      await db.close();
      await crypto.close();
    }
  } catch (err) {
    io.stderr.write(`tenant shred failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void runTenantShred(process.argv.slice(2), process.env, process).then((code) => {
    process.exitCode = code;
  });
}
