/**
 * Signing keys, treated like crown jewels: ES256 key pairs per environment
 * and purpose (the platform's access tokens; the gateway's internal hop
 * tokens), rotated with the previous key still published for verification.
 *
 * Storage is behind the small `KeyStore` interface: a file store (one JSON
 * file per environment and purpose, mode 0600 in a 0700 folder under the
 * git-ignored data folder in development) and a memory store for tests. A
 * store refuses keys labelled for another environment, so staging keys can
 * never sign production tokens.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { AppEnv } from '../config';

export type KeyPurpose = 'platform' | 'internal';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  createdAt: number;
}

export interface KeyStore {
  readonly env: AppEnv;
  readonly purpose: KeyPurpose;
  /** The key new tokens are signed with. */
  current(): SigningKey;
  /** Public keys tokens may be verified with: the current key and the one before it. */
  jwks(): { keys: JWK[] };
  /** Bumped on every rotation: verifiers rebuild their key set when it changes. */
  readonly version: number;
  /** Makes a new current key; the old current stays published until the next rotation. */
  rotate(): Promise<SigningKey>;
  /** Age of each published key, for the admin view of key ages. */
  ages(now?: number): Array<{ kid: string; ageDays: number }>;
}

export class KeyStoreError extends Error {}

interface StoredKey {
  kid: string;
  createdAt: number;
  privateJwk: JWK;
  publicJwk: JWK;
}

interface StoredFile {
  env: AppEnv;
  purpose: KeyPurpose;
  keys: StoredKey[];
}

const ALG = 'ES256';

async function newKey(env: AppEnv, purpose: KeyPurpose): Promise<StoredKey> {
  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
  const kid = `${env}-${purpose}-${randomBytes(6).toString('base64url')}`;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ALG, use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: ALG };
  return { kid, createdAt: Date.now(), privateJwk, publicJwk };
}

async function toSigningKey(k: StoredKey): Promise<SigningKey> {
  return { kid: k.kid, createdAt: k.createdAt, publicJwk: k.publicJwk, privateKey: (await importJWK(k.privateJwk, ALG)) as CryptoKey };
}

class BaseKeyStore implements KeyStore {
  version = 1;
  protected constructor(
    readonly env: AppEnv,
    readonly purpose: KeyPurpose,
    protected stored: StoredKey[],
    protected signing: SigningKey,
  ) {}

  current(): SigningKey {
    return this.signing;
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.stored.slice(0, 2).map((k) => k.publicJwk) };
  }

  async rotate(): Promise<SigningKey> {
    const fresh = await newKey(this.env, this.purpose);
    this.stored = [fresh, ...this.stored].slice(0, 2);
    this.signing = await toSigningKey(fresh);
    this.version++;
    await this.persist();
    return this.signing;
  }

  ages(now = Date.now()): Array<{ kid: string; ageDays: number }> {
    return this.stored.map((k) => ({ kid: k.kid, ageDays: Math.floor((now - k.createdAt) / 86_400_000) }));
  }

  protected async persist(): Promise<void> {}
}

export class MemoryKeyStore extends BaseKeyStore {
  static async create(env: AppEnv, purpose: KeyPurpose): Promise<MemoryKeyStore> {
    const k = await newKey(env, purpose);
    return new MemoryKeyStore(env, purpose, [k], await toSigningKey(k));
  }
}

export interface FileKeyStoreOptions {
  /** Folder holding `<env>/<purpose>.json`. */
  dir: string;
  env: AppEnv;
  purpose: KeyPurpose;
  /** Generate keys when none exist (development and tests; production must be given keys). */
  generate: boolean;
}

export class FileKeyStore extends BaseKeyStore {
  private file = '';

  static async open(opts: FileKeyStoreOptions): Promise<FileKeyStore> {
    const folder = path.join(opts.dir, opts.env);
    const file = path.join(folder, `${opts.purpose}.json`);
    let stored: StoredFile | undefined;
    try {
      stored = JSON.parse(await readFile(file, 'utf8')) as StoredFile;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new KeyStoreError(`cannot read ${opts.purpose} keys: ${(err as Error).message}`);
    }
    if (stored) {
      if (stored.env !== opts.env || stored.purpose !== opts.purpose || stored.keys.some((k) => !k.kid.startsWith(`${opts.env}-`))) {
        throw new KeyStoreError(`refusing ${opts.purpose} keys labelled for environment "${stored.env}" in ${opts.env}`);
      }
      if (!stored.keys.length) throw new KeyStoreError(`${opts.purpose} key file has no keys`);
    } else {
      if (!opts.generate) throw new KeyStoreError(`no ${opts.purpose} signing keys for ${opts.env} (expected ${file})`);
      stored = { env: opts.env, purpose: opts.purpose, keys: [await newKey(opts.env, opts.purpose)] };
    }
    const store = new FileKeyStore(opts.env, opts.purpose, stored.keys, await toSigningKey(stored.keys[0]));
    store.file = file;
    await store.persist();
    return store;
  }

  protected override async persist(): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    // A name of its own: processes that share the folder (gateway replicas starting together) each rewrite the
    // file on open, and one fixed temporary name made one process's rename fail when another had renamed it first.
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const body: StoredFile = { env: this.env, purpose: this.purpose, keys: this.stored };
    await writeFile(tmp, JSON.stringify(body, null, 2), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.file);
  }
}
