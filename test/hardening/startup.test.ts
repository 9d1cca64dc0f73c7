/**
 * The start-up refusal: in production, every development setting is named
 * and the process does not start; outside production nothing is checked.
 * And the hardening settings read from the environment.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { CONFIG_VARS, ConfigError, loadConfig } from '../../lib/config';
import { HARDENING_VARS, ProductionSafetyError, QUERY_LIMITS, assertProductionSafe, hardeningSettingsFrom, productionSafetyProblems } from '../../lib/limits';

const SAFE = { appEnv: 'production' as const, seed: false, dataDir: '/var/lib/tracksafe', keysDir: '/run/secrets/tracksafe-keys' };

describe('assertProductionSafe', () => {
  test('a production configuration without development settings passes', () => {
    expect(productionSafetyProblems(SAFE, { MASTER_KEY_PROVIDER: 'pkcs11', CORS_ORIGINS: 'https://app.tracksafe.example' })).toEqual([]);
    expect(() => assertProductionSafe(SAFE, { MASTER_KEY_PROVIDER: 'pkcs11' })).not.toThrow();
  });

  test('each development setting is named, all of them at once', () => {
    const config = { ...SAFE, seed: true, dataDir: '.data', keysDir: '.data/keys' };
    const env = { MASTER_KEY_PROVIDER: 'local', CORS_ORIGINS: 'https://a.example, *' };
    let thrown: unknown;
    try {
      assertProductionSafe(config, env);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ProductionSafetyError);
    const problems = (thrown as ProductionSafetyError).problems;
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/SEED is on/);
    expect(problems.join('\n')).toMatch(/KEYS_DIR \(\.data\/keys\) lives under DATA_DIR/);
    expect(problems.join('\n')).toMatch(/local key file \(MASTER_KEY_PROVIDER=local/);
    expect(problems.join('\n')).toMatch(/CORS_ORIGINS allows any origin/);
    expect((thrown as Error).message).toMatch(/^refusing to start in production with development settings:\n {2}- /);
  });

  test('one at a time, each is enough to refuse', () => {
    const cases: Array<[Partial<typeof SAFE> & { transport?: { corsOrigins: string[] } }, NodeJS.ProcessEnv, RegExp]> = [
      [{ seed: true }, {}, /SEED/],
      [{ keysDir: '/var/lib/tracksafe/keys' }, {}, /KEYS_DIR/],
      [{}, { MASTER_KEY_PROVIDER: 'local' }, /local key file/],
      [{ transport: { corsOrigins: ['*'] } }, {}, /CORS_ORIGINS/],
    ];
    for (const [config, env, pattern] of cases) {
      const problems = productionSafetyProblems({ ...SAFE, ...config }, { MASTER_KEY_PROVIDER: 'pkcs11', ...env });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(pattern);
    }
  });

  test('a local master key file is the default, refused unless LOCAL_MASTER_KEY_ALLOW_IN_PRODUCTION=true', () => {
    expect(productionSafetyProblems(SAFE, {})).toEqual([expect.stringMatching(/MASTER_KEY_PROVIDER=local, the default/)]);
    expect(productionSafetyProblems(SAFE, { LOCAL_MASTER_KEY_ALLOW_IN_PRODUCTION: 'true' })).toEqual([]);
    expect(productionSafetyProblems({ ...SAFE, crypto: { masterKey: { kind: 'pkcs11' } } }, {})).toEqual([]);
  });

  test('outside production nothing is refused', () => {
    for (const appEnv of ['development', 'staging'] as const) expect(productionSafetyProblems({ ...SAFE, appEnv, seed: true, keysDir: '/var/lib/tracksafe/k' }, { CORS_ORIGINS: '*' })).toEqual([]);
  });

  test('the gateway process refuses to start and says why', () => {
    const root = path.resolve(__dirname, '..', '..');
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'gateway/index.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH, APP_ENV: 'production', DATA_DIR: '.data', KEYS_DIR: '.data/keys', MASTER_KEY_PROVIDER: 'local', LOG_LEVEL: 'silent', GATEWAY_PORT: '0' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/development settings/);
    expect(run.stderr).toMatch(/KEYS_DIR/);
    expect(run.stderr).toMatch(/MASTER_KEY_PROVIDER=local/);
  }, 40_000);
});

describe('hardening settings from the environment', () => {
  test('the environment picks the limits; each can be overridden', () => {
    const problems: string[] = [];
    expect(hardeningSettingsFrom({}, 'production', problems).limits).toEqual(QUERY_LIMITS.production);
    const s = hardeningSettingsFrom({ MAX_QUERY_DEPTH: '12', MAX_QUERY_COST: '8000', MAX_BATCH_SIZE: '5', COST_BUDGET_PER_MINUTE: '0' }, 'production', problems);
    expect(problems).toEqual([]);
    expect(s.limits).toMatchObject({ maxDepth: 12, maxCost: 8000, maxBatchSize: 5, costBudgetPerMinute: 0, maxAliases: 10 });
    expect(s.trustedDocuments).toMatchObject({ enforce: true, openClients: '*', appBySubjectType: {} });
    expect(hardeningSettingsFrom({}, 'staging', []).trustedDocuments.enforce).toBe(false);
  });

  test('bad values are reported, one problem each', () => {
    const problems: string[] = [];
    hardeningSettingsFrom(
      { MAX_QUERY_DEPTH: 'deep', MAX_BATCH_SIZE: '50', TRUSTED_DOCUMENTS_ENFORCE: 'false', TRUSTED_DOCUMENTS_APP_BY_SUBJECT: 'robot:driver-app', SENSITIVE_ROOT_FIELDS: 'approveElevation, not a field' },
      'production',
      problems,
    );
    expect(problems).toHaveLength(5);
    expect(problems.join('\n')).toMatch(/MAX_QUERY_DEPTH/);
    expect(problems.join('\n')).toMatch(/MAX_BATCH_SIZE must be an integer 1-10/);
    expect(problems.join('\n')).toMatch(/TRUSTED_DOCUMENTS_ENFORCE=false is refused in production/);
    expect(problems.join('\n')).toMatch(/TRUSTED_DOCUMENTS_APP_BY_SUBJECT/);
    expect(problems.join('\n')).toMatch(/SENSITIVE_ROOT_FIELDS/);
  });

  test('open clients, token-bound apps and sensitive fields parse from lists', () => {
    const s = hardeningSettingsFrom({ TRUSTED_DOCUMENTS_OPEN_CLIENTS: 'tracksafe-web, support-console', TRUSTED_DOCUMENTS_APP_BY_SUBJECT: 'device:driver-app', SENSITIVE_ROOT_FIELDS: 'approveElevation,rotateSecret' }, 'production', []);
    expect(s.trustedDocuments.openClients).toEqual(['tracksafe-web', 'support-console']);
    expect(s.trustedDocuments.appBySubjectType).toEqual({ device: 'driver-app' });
    expect(s.sensitiveRootFields).toEqual(['approveElevation', 'rotateSecret']);
  });

  test('loadConfig carries them (config.hardening), lists them in its table and reports bad values with the rest', () => {
    expect(loadConfig({ APP_ENV: 'staging', MAX_QUERY_COST: '7000' }).hardening.limits).toEqual({ ...QUERY_LIMITS.staging, maxCost: 7000 });
    expect(CONFIG_VARS.map((v) => v.name)).toEqual(expect.arrayContaining(HARDENING_VARS.map((v) => v.name)));
    expect(() => loadConfig({ APP_ENV: 'production', MAX_QUERY_ALIASES: '-1' })).toThrow(ConfigError);
  });
});
