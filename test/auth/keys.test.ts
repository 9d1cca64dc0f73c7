/**
 * Signing keys on disk: owner-only files, generated only where allowed,
 * refused in another environment, rotation kept across restarts.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileKeyStore, KeyStoreError } from '../../lib/auth/keys';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ts-keys-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('generated keys are written owner-only, and a reopen finds the same key', async () => {
  const a = await FileKeyStore.open({ dir, env: 'development', purpose: 'platform', generate: true });
  const file = path.join(dir, 'development', 'platform.json');
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
  const b = await FileKeyStore.open({ dir, env: 'development', purpose: 'platform', generate: false });
  expect(b.current().kid).toBe(a.current().kid);
  expect(b.jwks().keys.every((k) => k.d === undefined)).toBe(true);
});

test('without keys and without permission to generate, opening fails with a clear error', async () => {
  await expect(FileKeyStore.open({ dir, env: 'production', purpose: 'platform', generate: false })).rejects.toThrow(/no platform signing keys for production/);
});

test('keys labelled for another environment are refused', async () => {
  await FileKeyStore.open({ dir, env: 'staging', purpose: 'internal', generate: true });
  const staging = path.join(dir, 'staging', 'internal.json');
  const prod = path.join(dir, 'production', 'internal.json');
  mkdirSync(path.dirname(prod), { recursive: true });
  writeFileSync(prod, readFileSync(staging));
  await expect(FileKeyStore.open({ dir, env: 'production', purpose: 'internal', generate: false })).rejects.toThrow(KeyStoreError);
  await expect(FileKeyStore.open({ dir, env: 'production', purpose: 'internal', generate: false })).rejects.toThrow(/labelled for environment "staging"/);
});

test('rotation persists: the new key is current after a restart and the previous one is still published', async () => {
  const store = await FileKeyStore.open({ dir, env: 'development', purpose: 'platform', generate: true });
  const first = store.current().kid;
  const second = (await store.rotate()).kid;
  const reopened = await FileKeyStore.open({ dir, env: 'development', purpose: 'platform', generate: false });
  expect(reopened.current().kid).toBe(second);
  expect(reopened.jwks().keys.map((k) => k.kid)).toEqual([second, first]);
});

test('processes sharing the folder may open the same keys at once (each rewrite has a temporary file of its own)', async () => {
  const first = await FileKeyStore.open({ dir, env: 'development', purpose: 'internal', generate: true });
  const kid = (await first.jwks()).keys[0].kid;
  const opened = await Promise.all(Array.from({ length: 12 }, () => FileKeyStore.open({ dir, env: 'development', purpose: 'internal', generate: false })));
  for (const s of opened) expect((await s.jwks()).keys.map((k) => k.kid)).toEqual([kid]);
  expect(JSON.parse(readFileSync(path.join(dir, 'development', 'internal.json'), 'utf8')).keys).toHaveLength(1);
});
