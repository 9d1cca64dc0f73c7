/**
 * `npm run keys:rotate-signing -- platform|internal`: makes a new current
 * signing key for this environment; the previous one stays published for
 * verification until the next rotation. Running gateways pick the new key
 * up on restart (verifiers accept both meanwhile). Prints key ages.
 */
import { FileKeyStore, type KeyPurpose } from '../lib/auth/keys';
import { loadConfig } from '../lib/config';

async function main(): Promise<void> {
  const purpose = process.argv[2] as KeyPurpose | undefined;
  if (purpose !== 'platform' && purpose !== 'internal') throw new Error('name the keys to rotate: platform or internal');
  const config = loadConfig();
  const store = await FileKeyStore.open({ dir: config.keysDir, env: config.appEnv, purpose, generate: false });
  const before = store.current().kid;
  const after = (await store.rotate()).kid;
  process.stdout.write(`${purpose} signing key rotated in ${config.appEnv}: ${before} → ${after}\n`);
  for (const { kid, ageDays } of store.ages()) process.stdout.write(`  ${kid}  ${ageDays} day(s) old\n`);
}

main().catch((err) => {
  process.stderr.write(`rotation failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
