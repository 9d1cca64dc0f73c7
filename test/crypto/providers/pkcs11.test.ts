/**
 * @jest-environment <rootDir>/test/crypto/softhsm-environment.ts
 *
 * The PKCS#11 provider against a real token: SoftHSM2 (Debian's softhsm2).
 * Skips only when the library file is absent; CI installs it.
 */
import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import { MasterKeyNotFoundError } from '../../../lib/crypto/errors';
import { createFieldEncryptor } from '../../../lib/crypto/fields';
import { ensurePkcs11MasterKey, pkcs11Binding, Pkcs11MasterKeyProvider, type Pkcs11MasterKeyOptions } from '../../../lib/crypto/providers/pkcs11';
import { createSoftHsmToken, memoryVault, SOFTHSM_LIB, softHsmInstalled, withSoftHsmSession, type SoftHsmToken } from '../kit';

const suite = softHsmInstalled ? describe : describe.skip;
const skipped = softHsmInstalled ? '' : ` — SKIPPED: ${SOFTHSM_LIB} not found (apt-get install -y softhsm2)`;
if (!softHsmInstalled) console.warn(`pkcs11 provider tests${skipped}`);

const ctx = { purpose: 'data-key', env: 'development', keyId: 'k1', tenantId: 't1' };

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: { code?: string }) => e.code,
  );
}

const withSession = withSoftHsmSession;

suite(`pkcs11 master key provider (SoftHSM2)${skipped}`, () => {
  let token: SoftHsmToken;
  let opts: Pkcs11MasterKeyOptions;
  let provider: Pkcs11MasterKeyProvider;
  let other: SoftHsmToken;

  beforeAll(async () => {
    // Tokens first: SoftHSM2 sees the tokens that exist when the module is initialised.
    token = createSoftHsmToken();
    other = createSoftHsmToken();
    opts = { env: 'development', modulePath: SOFTHSM_LIB, tokenLabel: token.tokenLabel, pin: token.pin };
    expect(await ensurePkcs11MasterKey(opts)).toEqual({ label: 'development/tracksafe-master', created: true });
    provider = await Pkcs11MasterKeyProvider.open(opts);
  });

  afterAll(async () => {
    await provider?.close();
  });

  it('creates the key once', async () => {
    expect(await ensurePkcs11MasterKey(opts)).toEqual({ label: 'development/tracksafe-master', created: false });
    expect(provider.id).toBe('pkcs11:development/tracksafe-master');
  });

  it('wraps and unwraps inside the token with AES-GCM, in the common wrapped-key layout', async () => {
    const dataKey = randomBytes(32);
    const wrapped = await provider.wrap(dataKey, ctx);
    expect(wrapped).toHaveLength(61);
    expect(wrapped[0]).toBe(1);
    expect((await provider.unwrap(wrapped, ctx)).equals(dataKey)).toBe(true);
  });

  it('fails to unwrap under another context or when tampered', async () => {
    const wrapped = await provider.wrap(randomBytes(32), ctx);
    expect(await codeOf(provider.unwrap(wrapped, { ...ctx, keyId: 'k2' }))).toBe('KEY_UNWRAP_FAILED');
    const tampered = Buffer.from(wrapped);
    tampered[30] ^= 1;
    expect(await codeOf(provider.unwrap(tampered, ctx))).toBe('KEY_UNWRAP_FAILED');
    // The session survives a failed operation.
    await expect(provider.unwrap(wrapped, ctx)).resolves.toHaveLength(32);
  });

  it('keeps concurrent operations on its one session apart', async () => {
    const keys = Array.from({ length: 40 }, () => randomBytes(32));
    const wrapped = await Promise.all(keys.map((k) => provider.wrap(k, ctx)));
    const back = await Promise.all(wrapped.map((w) => provider.unwrap(w, ctx)));
    back.forEach((k, i) => expect(k.equals(keys[i])).toBe(true));
  });

  it('holds a key that cannot leave the token: reading CKA_VALUE fails', async () => {
    expect(await provider.describeKey()).toEqual({
      label: 'development/tracksafe-master',
      valueLen: 32,
      sensitive: true,
      extractable: false,
      alwaysSensitive: true,
      neverExtractable: true,
      token: true,
    });
    const read = withSession(token, (lib, session, b) => {
      lib.C_FindObjectsInit(session, [{ type: b.CKA_LABEL, value: 'development/tracksafe-master' }]);
      const [key] = lib.C_FindObjects(session, 1);
      lib.C_FindObjectsFinal(session);
      try {
        lib.C_GetAttributeValue(session, key, [{ type: b.CKA_VALUE }]);
        return 'read';
      } catch (err) {
        return (err as Error).message;
      }
    });
    expect(read).toContain('CKR_ATTRIBUTE_SENSITIVE');
  });

  it('refuses a key labelled for another environment', async () => {
    expect(await codeOf(Pkcs11MasterKeyProvider.open({ ...opts, keyLabel: 'staging/tracksafe-master' }))).toBe('KEY_ENVIRONMENT_MISMATCH');
    expect(await codeOf(ensurePkcs11MasterKey({ ...opts, keyLabel: 'production/tracksafe-master' }))).toBe('KEY_ENVIRONMENT_MISMATCH');
    expect(await codeOf(Pkcs11MasterKeyProvider.open({ ...opts, keyLabel: 'tracksafe-master' }))).toBe('KEY_PROVIDER_CONFIG');
  });

  it("does not find another environment's key on a shared token", async () => {
    await ensurePkcs11MasterKey({ ...opts, env: 'staging', keyLabel: 'staging/shared' });
    expect(await codeOf(Pkcs11MasterKeyProvider.open({ ...opts, keyLabel: 'development/shared' }))).toBe('KEY_PROVIDER_CONFIG');
    const staging = await Pkcs11MasterKeyProvider.open({ ...opts, env: 'staging', keyLabel: 'staging/shared' });
    try {
      // A development data key context is refused by the staging key.
      expect(await codeOf(staging.wrap(randomBytes(32), ctx))).toBe('KEY_ENVIRONMENT_MISMATCH');
    } finally {
      await staging.close();
    }
  });

  it('refuses an extractable key', async () => {
    withSession(token, (lib, session, b) => {
      lib.C_GenerateKey(session, { mechanism: b.CKM_AES_KEY_GEN }, [
        { type: b.CKA_CLASS, value: b.CKO_SECRET_KEY },
        { type: b.CKA_KEY_TYPE, value: b.CKK_AES },
        { type: b.CKA_VALUE_LEN, value: 32 },
        { type: b.CKA_LABEL, value: 'development/leaky' },
        { type: b.CKA_TOKEN, value: true },
        { type: b.CKA_SENSITIVE, value: false },
        { type: b.CKA_EXTRACTABLE, value: true },
        { type: b.CKA_ENCRYPT, value: true },
        { type: b.CKA_DECRYPT, value: true },
      ]);
    });
    await expect(Pkcs11MasterKeyProvider.open({ ...opts, keyLabel: 'development/leaky' })).rejects.toMatchObject({
      code: 'KEY_PROVIDER_CONFIG',
      message: expect.stringContaining('extractable'),
    });
  });

  it('refuses a wrong PIN, an unknown token, a missing key and a missing module', async () => {
    // The second token: the first is logged in for this process already.
    await ensurePkcs11MasterKey({ ...opts, tokenLabel: other.tokenLabel, pin: other.pin });
    await expect(Pkcs11MasterKeyProvider.open({ ...opts, tokenLabel: other.tokenLabel, pin: '000000' })).rejects.toMatchObject({
      code: 'KEY_PROVIDER_CONFIG',
      message: expect.stringContaining('CKR_PIN_INCORRECT'),
    });
    expect(await codeOf(Pkcs11MasterKeyProvider.open({ ...opts, tokenLabel: 'no-such-token' }))).toBe('KEY_PROVIDER_CONFIG');
    expect(await codeOf(Pkcs11MasterKeyProvider.open({ ...opts, keyLabel: 'development/absent' }))).toBe('KEY_PROVIDER_CONFIG');
    expect(await codeOf(Pkcs11MasterKeyProvider.open({ ...opts, modulePath: '/nonexistent/libpkcs11.so' }))).toBe('KEY_PROVIDER_CONFIG');
  });

  it('a key deleted from the token while open (revoked): every later call fails as not found, and works again once a key has its label', async () => {
    const revocable = { ...opts, keyLabel: 'development/revocable' };
    await ensurePkcs11MasterKey(revocable);
    const p = await Pkcs11MasterKeyProvider.open(revocable);
    try {
      const wrapped = await p.wrap(randomBytes(32), ctx);
      withSession(token, (lib, session, b) => {
        lib.C_FindObjectsInit(session, [{ type: b.CKA_LABEL, value: 'development/revocable' }]);
        const found = lib.C_FindObjects(session, 10);
        lib.C_FindObjectsFinal(session);
        for (const h of found) lib.C_DestroyObject(session, h);
      });
      for (let i = 0; i < 2; i++) {
        await expect(p.unwrap(wrapped, ctx)).rejects.toBeInstanceOf(MasterKeyNotFoundError);
        await expect(p.wrap(randomBytes(32), ctx)).rejects.toMatchObject({ code: 'KEY_PROVIDER_CONFIG', masterKeyId: 'pkcs11:development/revocable' });
      }
      expect(await codeOf(Pkcs11MasterKeyProvider.open(revocable))).toBe('KEY_PROVIDER_CONFIG');
      // Another key under the label: found again, but it is not the key that wrapped before.
      await ensurePkcs11MasterKey(revocable);
      expect(await codeOf(p.unwrap(wrapped, ctx))).toBe('KEY_UNWRAP_FAILED');
      const again = await p.wrap(randomBytes(32), ctx);
      await expect(p.unwrap(again, ctx)).resolves.toHaveLength(32);
    } finally {
      await p.close();
    }
  });

  it('serves a key vault: fields encrypted under an HSM-wrapped data key', async () => {
    const vault = memoryVault(provider);
    const fe = createFieldEncryptor({ vault });
    const c = { tenantId: 't1', collection: 'shipments', field: 'recipient.email', documentId: new Types.ObjectId() };
    const envelope = await fe.encryptValue('jane@example.com', c);
    vault.clearCache();
    expect(await fe.decryptValue(envelope, c)).toBe('jane@example.com');
  });

  it('is unusable once closed', async () => {
    const p = await Pkcs11MasterKeyProvider.open(opts);
    await p.close();
    expect(await codeOf(p.wrap(randomBytes(32), ctx))).toBe('KEY_PROVIDER_CONFIG');
  });
});
