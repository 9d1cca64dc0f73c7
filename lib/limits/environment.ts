/**
 * The start-up refusal: a process in production with a development setting
 * does not start, and says which settings are wrong. Called by
 * gateway/index.ts and scripts/start.ts right after `loadConfig()`.
 *
 * Settings some other module owns (master key provider, CORS) are read
 * from the typed config when it has them and from the raw environment
 * otherwise. Development routes (`/dev/token`, `/auth/login`) and key
 * generation have no setting to check: they exist only when APP_ENV is
 * development, by construction.
 */
import path from 'node:path';
import type { Config } from '../config';

export class ProductionSafetyError extends Error {
  constructor(readonly problems: string[]) {
    super(`refusing to start in production with development settings:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ProductionSafetyError';
  }
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const isTrue = (v: string | undefined): boolean => v !== undefined && TRUE.has(v.trim().toLowerCase());

/** True when `child` is `parent` or inside it. */
function within(parent: string, child: string): boolean {
  const rel = path.relative(path.resolve(parent), path.resolve(child));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Fields other modules may add to Config; read when present. */
interface OptionalSettings {
  transport?: { corsOrigins?: readonly string[] };
  corsOrigins?: readonly string[];
  /** lib/crypto/config.ts's settings, once lib/config.ts carries them. */
  crypto?: { masterKey?: { kind?: string; allowLocalInProduction?: boolean } };
}

/**
 * Every development setting in a production configuration, one sentence
 * each naming the variable. Empty outside production.
 */
export function productionSafetyProblems(config: Pick<Config, 'appEnv' | 'seed' | 'keysDir' | 'dataDir'> & OptionalSettings, env: NodeJS.ProcessEnv = process.env): string[] {
  if (config.appEnv !== 'production') return [];
  const problems: string[] = [];
  if (config.seed) problems.push('SEED is on: demo tenants and users with published credentials would be seeded');
  if (within(config.dataDir, config.keysDir)) {
    problems.push(`KEYS_DIR (${config.keysDir}) lives under DATA_DIR (${config.dataDir}): those are development keys generated at boot; give production keys their own folder`);
  }
  // As lib/crypto/config.ts reads it: the provider defaults to a local key file.
  const provider = (config.crypto?.masterKey?.kind ?? env.MASTER_KEY_PROVIDER ?? 'local').trim().toLowerCase();
  const allowLocal = config.crypto?.masterKey?.allowLocalInProduction === true || isTrue(env.LOCAL_MASTER_KEY_ALLOW_IN_PRODUCTION);
  if (provider === 'local' && !allowLocal) {
    problems.push('the master key is a local key file (MASTER_KEY_PROVIDER=local, the default) without LOCAL_MASTER_KEY_ALLOW_IN_PRODUCTION=true: use an HSM (MASTER_KEY_PROVIDER=pkcs11)');
  }
  const cors = config.transport?.corsOrigins ?? config.corsOrigins ?? (env.CORS_ORIGINS ?? '').split(',').map((o) => o.trim());
  if (cors.includes('*')) problems.push('CORS_ORIGINS allows any origin (*): list the origins');
  return problems;
}

/** Throws `ProductionSafetyError` listing every development setting when `config` is production. */
export function assertProductionSafe(config: Parameters<typeof productionSafetyProblems>[0], env: NodeJS.ProcessEnv = process.env): void {
  const problems = productionSafetyProblems(config, env);
  if (problems.length) throw new ProductionSafetyError(problems);
}
