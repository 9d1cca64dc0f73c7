import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MasterKeyNotFoundError } from '../../../lib/crypto/errors';
import { LocalMasterKeyProvider, localKeyFile } from '../../../lib/crypto/providers/local';
import { tempDir } from '../kit';

let keys: ReturnType<typeof tempDir>;
beforeEach(() => {
  keys = tempDir();
});
afterEach(() => keys.cleanup());

const ctx = { purpose: 'data-key', env: 'development', keyId: 'k1', tenantId: 't1' };

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: { code?: string }) => e.code,
  );
}

describe('local master key provider', () => {
  it('generates a key file with mode 0600 in a 0700 folder in development', async () => {
    const p = await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development' });
    expect(p.id).toBe('local:development/master-1');
    expect(p.file).toBe(path.join(keys.dir, 'development', 'master-1.key'));
    expect(statSync(p.file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(p.file)).mode & 0o777).toBe(0o700);
    const body = JSON.parse(readFileSync(p.file, 'utf8')) as { env: string; id: string; key: string };
    expect(body).toMatchObject({ env: 'development', id: 'local:development/master-1' });
    expect(Buffer.from(body.key, 'base64')).toHaveLength(32);
  });

  it('wraps and unwraps a data key; another process opening the file reads the same key', async () => {
    const a = await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development' });
    const b = await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development' });
    const dataKey = randomBytes(32);
    const wrapped = await a.wrap(dataKey, ctx);
    expect(wrapped).toHaveLength(61);
    expect(wrapped[0]).toBe(1);
    expect(wrapped.includes(dataKey)).toBe(false);
    expect((await b.unwrap(wrapped, ctx)).equals(dataKey)).toBe(true);
  });

  it('keeps one key when several processes generate it at once', async () => {
    const providers = await Promise.all(Array.from({ length: 6 }, () => LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development' })));
    const wrapped = await providers[0].wrap(randomBytes(32), ctx);
    for (const p of providers) await expect(p.unwrap(wrapped, ctx)).resolves.toHaveLength(32);
  });

  it('fails to unwrap under another context, another master key, or when tampered', async () => {
    const a = await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development' });
    const other = await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development', name: '2' });
    const wrapped = await a.wrap(randomBytes(32), ctx);
    expect(await codeOf(a.unwrap(wrapped, { ...ctx, tenantId: 't2' }))).toBe('KEY_UNWRAP_FAILED');
    expect(await codeOf(other.unwrap(wrapped, ctx))).toBe('KEY_UNWRAP_FAILED');
    const tampered = Buffer.from(wrapped);
    tampered[20] ^= 1;
    expect(await codeOf(a.unwrap(tampered, ctx))).toBe('KEY_UNWRAP_FAILED');
    expect(await codeOf(a.unwrap(wrapped.subarray(0, 60), ctx))).toBe('KEY_UNWRAP_FAILED');
  });

  it('refuses a context labelled for another environment', async () => {
    const a = await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development' });
    expect(await codeOf(a.wrap(randomBytes(32), { ...ctx, env: 'production' }))).toBe('KEY_ENVIRONMENT_MISMATCH');
  });

  it('refuses a key file labelled for another environment', async () => {
    const staging = await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'staging', generate: true });
    mkdirSync(path.join(keys.dir, 'development'), { mode: 0o700 });
    copyFileSync(staging.file, localKeyFile({ keysDir: keys.dir, env: 'development' }));
    chmodSync(localKeyFile({ keysDir: keys.dir, env: 'development' }), 0o600);
    expect(await codeOf(LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development' }))).toBe('KEY_ENVIRONMENT_MISMATCH');
  });

  it('refuses a key file group or others can read', async () => {
    const p = await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development' });
    chmodSync(p.file, 0o640);
    await expect(LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development' })).rejects.toMatchObject({ code: 'KEY_PROVIDER_CONFIG', message: expect.stringContaining('chmod 600') });
  });

  it('refuses a key file holding another key id or a short key', async () => {
    const p = await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development' });
    const body = JSON.parse(readFileSync(p.file, 'utf8')) as Record<string, string>;
    writeFileSync(p.file, JSON.stringify({ ...body, id: 'local:development/master-9' }), { mode: 0o600 });
    expect(await codeOf(LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development' }))).toBe('KEY_PROVIDER_CONFIG');
    writeFileSync(p.file, JSON.stringify({ ...body, key: randomBytes(16).toString('base64') }), { mode: 0o600 });
    expect(await codeOf(LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development' }))).toBe('KEY_PROVIDER_CONFIG');
  });

  it('refuses production unless allowLocalInProduction is set, naming the setting', async () => {
    await expect(LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'production', generate: true })).rejects.toMatchObject({
      code: 'KEY_PROVIDER_CONFIG',
      message: expect.stringContaining('allowLocalInProduction'),
    });
    // Allowed, it still never generates a production key by itself …
    expect(await codeOf(LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'production', allowLocalInProduction: true }))).toBe('KEY_PROVIDER_CONFIG');
    // … but uses one that was provisioned.
    await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'production', allowLocalInProduction: true, generate: true });
    const p = await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'production', allowLocalInProduction: true });
    expect(p.id).toBe('local:production/master-1');
  });

  it('does not generate keys outside development unless asked', async () => {
    expect(await codeOf(LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'staging' }))).toBe('KEY_PROVIDER_CONFIG');
  });

  it('tells a missing key file (a revoked tenant key) apart from a bad one', async () => {
    const missing = LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development', name: 'acme', generate: false });
    await expect(missing).rejects.toBeInstanceOf(MasterKeyNotFoundError);
    await expect(missing).rejects.toMatchObject({ code: 'KEY_PROVIDER_CONFIG', masterKeyId: 'local:development/master-acme' });
    const p = await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development', name: 'acme' });
    chmodSync(p.file, 0o644);
    const unsafe = LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development', name: 'acme', generate: false });
    await expect(unsafe).rejects.toMatchObject({ code: 'KEY_PROVIDER_CONFIG' });
    await expect(unsafe).rejects.not.toBeInstanceOf(MasterKeyNotFoundError);
  });

  it('refuses a key name that could leave its folder', async () => {
    expect(await codeOf(LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development', name: '../../etc' }))).toBe('KEY_PROVIDER_CONFIG');
  });

  it('is unusable once closed', async () => {
    const p = await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development' });
    await p.close();
    expect(await codeOf(p.wrap(randomBytes(32), ctx))).toBe('KEY_PROVIDER_CONFIG');
  });
});
