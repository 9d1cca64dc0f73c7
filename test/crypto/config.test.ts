import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadCryptoConfig } from '../../lib/crypto/config';
import { openMasterKeyProvider } from '../../lib/crypto/providers';
import { tempDir } from './kit';

const base = { appEnv: 'development' as const, keysDir: '/keys' };

describe('loadCryptoConfig', () => {
  it('defaults to the local master key and a 1,000-key, 60 s cache', () => {
    expect(loadCryptoConfig({}, base)).toEqual({
      masterKey: { kind: 'local', env: 'development', keysDir: '/keys', name: '1', allowLocalInProduction: false },
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
