import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_VARS, loadConfig } from '../../lib/config';
import { loadCryptoConfig } from '../../lib/crypto/config';
import { openMasterKeyProvider } from '../../lib/crypto/providers';
import { tempDir } from './kit';

const base = { appEnv: 'development' as const, keysDir: '/keys' };

describe('loadCryptoConfig', () => {
  it('defaults to the local master key and a 1,000-key, 60 s cache', () => {
    expect(loadCryptoConfig({}, base)).toEqual({
      masterKey: { kind: 'local', env: 'development', keysDir: '/keys', name: '1', allowLocalInProduction: false },
      tenantMasterKeys: [],
      keySettings: { env: 'development', keysDir: '/keys', allowLocalInProduction: false },
      dataKeyCacheMax: 1000,
      dataKeyCacheTtlMs: 60_000,
      rotationDays: 90,
    });
  });

  it('reads a PKCS#11 configuration, the PIN from a file, the key label from the environment', () => {
    const { dir, cleanup } = tempDir();
    writeFileSync(path.join(dir, 'pin'), '123456\n', { mode: 0o600 });
    const c = loadCryptoConfig(
      { MASTER_KEY_PROVIDER: 'pkcs11', PKCS11_MODULE: '/lib/hsm.so', PKCS11_TOKEN_LABEL: 'prod', PKCS11_PIN_FILE: path.join(dir, 'pin'), MASTER_KEY_NAME: 'master-2' },
      { ...base, appEnv: 'production' },
    );
    cleanup();
    expect(c.masterKey).toMatchObject({ kind: 'pkcs11', env: 'production', modulePath: '/lib/hsm.so', tokenLabel: 'prod', pin: '123456', keyLabel: 'production/master-2', gcmParams: 'v2.40' });
  });

  it('lists every problem at once', () => {
    let message = '';
    try {
      loadCryptoConfig({ MASTER_KEY_PROVIDER: 'pkcs11', DATA_KEY_CACHE_MAX: '0', PKCS11_GCM_PARAMS: 'v3' }, base);
    } catch (err) {
      expect(err).toMatchObject({ code: 'KEY_PROVIDER_CONFIG' });
      message = (err as Error).message;
    }
    for (const part of ['PKCS11_MODULE', 'PKCS11_PIN', 'PKCS11_GCM_PARAMS', 'DATA_KEY_CACHE_MAX']) expect(message).toContain(part);
    expect(() => loadCryptoConfig({ MASTER_KEY_PROVIDER: 'kms' }, base)).toThrow(/local or pkcs11/);
    expect(() => loadCryptoConfig({ LOCAL_MASTER_KEY_ALLOW_IN_PRODUCTION: 'yes' }, base)).toThrow(/true or false/);
  });

  describe('TENANT_MASTER_KEYS (BYOK)', () => {
    const hsm = { PKCS11_MODULE: '/lib/hsm.so', PKCS11_TOKEN_LABEL: 'tok', PKCS11_PIN: '1234' };
    /** The problems a configuration is refused with. */
    const problems = (env: Record<string, string>, b: Parameters<typeof loadCryptoConfig>[1] = base): string[] => {
      try {
        loadCryptoConfig(env, b);
      } catch (err) {
        expect(err).toMatchObject({ code: 'KEY_PROVIDER_CONFIG' });
        return (err as Error).message.split('\n  - ').slice(1);
      }
      return [];
    };

    it('reads `<tenant>=<provider>:<name>` entries: key files never generated, HSM keys labelled for the environment on the configured token', () => {
      const c = loadCryptoConfig({ ...hsm, TENANT_MASTER_KEYS: ' t-1=local:acme ,\n t-2 = pkcs11:tenant-two, t-3=pkcs11:development/three,' }, base);
      expect(c.masterKey).toMatchObject({ kind: 'local', name: '1' });
      expect(c.tenantMasterKeys).toEqual([
        { tenantId: 't-1', ref: 'local:acme', masterKey: { kind: 'local', env: 'development', keysDir: '/keys', name: 'acme', allowLocalInProduction: false, generate: false } },
        { tenantId: 't-2', ref: 'pkcs11:tenant-two', masterKey: { kind: 'pkcs11', env: 'development', modulePath: '/lib/hsm.so', tokenLabel: 'tok', slotIndex: 0, pin: '1234', gcmParams: 'v2.40', keyLabel: 'development/tenant-two' } },
        expect.objectContaining({ tenantId: 't-3', masterKey: expect.objectContaining({ keyLabel: 'development/three' }) }),
      ]);
      expect(c.keySettings).toMatchObject({ env: 'development', pkcs11: { modulePath: '/lib/hsm.so', pin: '1234' } });
    });

    it('reads the same entries from a file, one or more per line, with comments', () => {
      const { dir, cleanup } = tempDir();
      try {
        const file = path.join(dir, 'tenant-keys');
        writeFileSync(file, '# customer keys\nt-1=pkcs11:acme   # contract 2026-114\n\nt-2=pkcs11:globex, t-3=pkcs11:initech\n');
        const c = loadCryptoConfig({ ...hsm, MASTER_KEY_PROVIDER: 'pkcs11', TENANT_MASTER_KEYS_FILE: file }, { ...base, appEnv: 'production' });
        expect(c.tenantMasterKeys!.map((t) => [t.tenantId, t.ref, (t.masterKey as { keyLabel: string }).keyLabel])).toEqual([
          ['t-1', 'pkcs11:acme', 'production/acme'],
          ['t-2', 'pkcs11:globex', 'production/globex'],
          ['t-3', 'pkcs11:initech', 'production/initech'],
        ]);
        expect(problems({ TENANT_MASTER_KEYS_FILE: path.join(dir, 'absent') })).toEqual([expect.stringMatching(/^TENANT_MASTER_KEYS_FILE cannot be read/)]);
        expect(problems({ TENANT_MASTER_KEYS_FILE: file, TENANT_MASTER_KEYS: 't-1=local:a' })).toEqual(['set TENANT_MASTER_KEYS or TENANT_MASTER_KEYS_FILE, not both']);
      } finally {
        cleanup();
      }
    });

    it('refuses malformed entries, unknown providers, bad names, duplicate tenants and keys of another environment, each named, all at once', () => {
      const found = problems({ TENANT_MASTER_KEYS: 'acme, t-1=, =local:x, t 2=local:x, t-3=kms:alias, t-4=local:../../etc, t-5=local:a, t-5=local:b, t-6=local:staging/acme, t-7=acme' });
      expect(found).toEqual([
        'TENANT_MASTER_KEYS: entry "acme" must be <tenant id>=<provider>:<name>',
        'TENANT_MASTER_KEYS: entry "t-1=" must be <tenant id>=<provider>:<name>',
        'TENANT_MASTER_KEYS: entry "=local:x" must be <tenant id>=<provider>:<name>',
        'TENANT_MASTER_KEYS: tenant id "t 2" must be 1–128 letters, digits, ".", "_" or "-"',
        'TENANT_MASTER_KEYS: tenant t-3: master key reference "kms:alias" names the unknown provider "kms": use local or pkcs11',
        expect.stringMatching(/^TENANT_MASTER_KEYS: tenant t-4: invalid master key name/),
        'TENANT_MASTER_KEYS: tenant t-5 is listed more than once',
        'TENANT_MASTER_KEYS: tenant t-6: refusing master key reference "local:staging/acme" labelled for environment "staging" in development',
        'TENANT_MASTER_KEYS: tenant t-7: master key reference "acme" must be <provider>:<name> (local or pkcs11)',
      ]);
    });

    it('needs the token settings for an HSM key, and refuses a key file in production unless allowed, as for the platform key', () => {
      expect(problems({ TENANT_MASTER_KEYS: 't-1=pkcs11:acme' })).toEqual([
        'PKCS11_MODULE is required with a pkcs11 key in TENANT_MASTER_KEYS',
        'PKCS11_PIN or PKCS11_PIN_FILE is required with a pkcs11 key in TENANT_MASTER_KEYS',
      ]);
      const prod = { ...base, appEnv: 'production' as const };
      expect(problems({ ...hsm, MASTER_KEY_PROVIDER: 'pkcs11', TENANT_MASTER_KEYS: 't-1=local:acme' }, prod)).toEqual([
        'TENANT_MASTER_KEYS: tenant t-1: master key reference "local:acme" is a local key file, refused in production unless LOCAL_MASTER_KEY_ALLOW_IN_PRODUCTION=true',
      ]);
      expect(problems({ ...hsm, MASTER_KEY_PROVIDER: 'pkcs11', TENANT_MASTER_KEYS: 't-1=local:acme', LOCAL_MASTER_KEY_ALLOW_IN_PRODUCTION: 'true' }, prod)).toEqual([]);
    });

    it('reaches the process configuration as a list of problems', () => {
      expect(() => loadConfig({ APP_ENV: 'development', TENANT_MASTER_KEYS: 't-1=kms:x,t-1=local:y' })).toThrow(/TENANT_MASTER_KEYS: tenant t-1: master key reference "kms:x" names the unknown provider/);
      expect(CONFIG_VARS.map((v) => v.name)).toEqual(expect.arrayContaining(['TENANT_MASTER_KEYS', 'TENANT_MASTER_KEYS_FILE']));
    });
  });

  it('opens the provider it names', async () => {
    const keys = tempDir();
    try {
      const p = await openMasterKeyProvider(loadCryptoConfig({ MASTER_KEY_NAME: 'cfg' }, { ...base, keysDir: keys.dir }).masterKey);
      expect(p.id).toBe('local:development/master-cfg');
    } finally {
      keys.cleanup();
    }
  });
});
