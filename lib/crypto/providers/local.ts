/**
 * The `local` master key provider: a 256-bit key in a file,
 * `<keysDir>/<env>/master-<name>.key` (mode 0600 in a 0700 folder under the
 * git-ignored data folder), generated when missing in development.
 *
 * For development and tests only: production refuses it unless
 * `allowLocalInProduction` is set, because a key file on the same disk as
 * (or in the backups of) the database protects nothing. Production uses
 * `pkcs11` (an HSM).
 *
 * The file is JSON and names its environment and id, so a staging key file
 * copied into the development folder is refused rather than used:
 *   { "format": "tracksafe-local-master-key/1", "id": "local:development/master-1",
 *     "env": "development", "createdAt": "…", "key": "<base64, 32 bytes>" }
 * A file readable by group or others is refused, as ssh does.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { chmod, link, lstat, mkdir, open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { AppEnv } from '../../config';
import type { Context } from '../canonical';
import { KeyEnvironmentMismatchError, KeyProviderConfigError, KeyUnwrapFailedError, MasterKeyNotFoundError } from '../errors';
import { assertKeyName, DATA_KEY_BYTES, NONCE_BYTES, TAG_BYTES, WRAP_FORMAT, WRAPPED_KEY_BYTES, wrapAad, type MasterKeyProvider } from './types';

export interface LocalMasterKeyOptions {
  /** Folder holding `<env>/master-<name>.key` (the platform's KEYS_DIR). */
  keysDir: string;
  env: AppEnv;
  /**
   * The key's name: file `master-<name>.key`, id `local:<env>/master-<name>`.
   * A master key rotation opens a second provider with a new name.
   * @default '1'
   */
  name?: string;
  /**
   * Create the key file when it is missing.
   * @default env === 'development'
   */
  generate?: boolean;
  /**
   * Accept a key file in production. Only for a deployment that has no HSM
   * and knowingly keeps the master key on disk.
   * @default false
   */
  allowLocalInProduction?: boolean;
}

const FORMAT = 'tracksafe-local-master-key/1';

interface KeyFile {
  format: string;
  id: string;
  env: AppEnv;
  createdAt: string;
  key: string;
}

export function localKeyFile(opts: Pick<LocalMasterKeyOptions, 'keysDir' | 'env' | 'name'>): string {
  return path.join(opts.keysDir, opts.env, `master-${opts.name ?? '1'}.key`);
}

export class LocalMasterKeyProvider implements MasterKeyProvider {
  private constructor(
    readonly id: string,
    readonly env: AppEnv,
    /** Where the key lives, for the admin view of keys. */
    readonly file: string,
    readonly createdAt: Date,
    private key: KeyObject | undefined,
  ) {}

  /**
   * Opens (or, when allowed, creates) the key file. Throws
   * `KeyProviderConfigError` in production without `allowLocalInProduction`,
   * for a file readable by others, or a malformed file;
   * `MasterKeyNotFoundError` (a `KeyProviderConfigError`) for a missing file
   * that may not be generated; `KeyEnvironmentMismatchError` for a file
   * labelled for another environment.
   */
  static async open(opts: LocalMasterKeyOptions): Promise<LocalMasterKeyProvider> {
    const name = opts.name ?? '1';
    assertKeyName(name);
    if (opts.env === 'production' && !opts.allowLocalInProduction) {
      throw new KeyProviderConfigError(
        'the local master key provider is refused in production: use pkcs11 (an HSM), or set allowLocalInProduction (LOCAL_MASTER_KEY_ALLOW_IN_PRODUCTION=true) to accept a key file on disk',
      );
    }
    const id = `local:${opts.env}/master-${name}`;
    const file = localKeyFile({ ...opts, name });
    let text = await readKeyFile(file);
    if (text === undefined) {
      if (!(opts.generate ?? opts.env === 'development')) throw new MasterKeyNotFoundError(id, `no local master key ${id} (expected ${file})`);
      await generateKeyFile(file, id, opts.env);
      text = (await readKeyFile(file))!;
    }
    let parsed: KeyFile;
    try {
      parsed = JSON.parse(text) as KeyFile;
    } catch {
      throw new KeyProviderConfigError(`master key file ${file} is not valid JSON`);
    }
    if (parsed.format !== FORMAT) throw new KeyProviderConfigError(`master key file ${file} has an unknown format`);
    if (parsed.env !== opts.env) throw new KeyEnvironmentMismatchError(`master key file ${file}`, String(parsed.env), opts.env);
    if (parsed.id !== id) throw new KeyProviderConfigError(`master key file ${file} holds key "${parsed.id}", expected "${id}"`);
    const raw = Buffer.from(parsed.key ?? '', 'base64');
    if (raw.length !== DATA_KEY_BYTES) throw new KeyProviderConfigError(`master key file ${file} does not hold a 256-bit key`);
    const key = createSecretKey(raw);
    raw.fill(0);
    return new LocalMasterKeyProvider(id, opts.env, file, new Date(parsed.createdAt), key);
  }

  async wrap(plain: Buffer, context: Context): Promise<Buffer> {
    const aad = wrapAad(this, context);
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.usable(), nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.of(WRAP_FORMAT), nonce, body, cipher.getAuthTag()]);
  }

  async unwrap(wrapped: Buffer, context: Context): Promise<Buffer> {
    const aad = wrapAad(this, context);
    if (wrapped.length !== WRAPPED_KEY_BYTES || wrapped[0] !== WRAP_FORMAT) throw new KeyUnwrapFailedError();
    const nonce = wrapped.subarray(1, 1 + NONCE_BYTES);
    const tag = wrapped.subarray(wrapped.length - TAG_BYTES);
    const body = wrapped.subarray(1 + NONCE_BYTES, wrapped.length - TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.usable(), nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]);
    } catch {
      throw new KeyUnwrapFailedError();
    }
  }

  async close(): Promise<void> {
    this.key = undefined;
  }

  private usable(): KeyObject {
    if (!this.key) throw new KeyProviderConfigError(`master key provider ${this.id} is closed`);
    return this.key;
  }
}

/** The file's text, or undefined when it does not exist; refuses a non-file or a file others may read. */
async function readKeyFile(file: string): Promise<string | undefined> {
  let stat;
  try {
    stat = await lstat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KeyProviderConfigError(`cannot read master key file ${file}: ${(err as Error).message}`);
  }
  if (!stat.isFile()) throw new KeyProviderConfigError(`master key file ${file} is not a regular file`);
  if ((stat.mode & 0o077) !== 0) {
    throw new KeyProviderConfigError(`master key file ${file} is accessible by group or others (mode ${(stat.mode & 0o777).toString(8)}): chmod 600 it`);
  }
  return readFile(file, 'utf8');
}

/**
 * Writes a fresh key next to its final name and links it into place, so a
 * reader never sees a partial file and two processes generating at once keep
 * the first key (the loser's link fails with EEXIST and it reads the winner's).
 */
async function generateKeyFile(file: string, id: string, env: AppEnv): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const raw = randomBytes(DATA_KEY_BYTES);
  const body: KeyFile = { format: FORMAT, id, env, createdAt: new Date().toISOString(), key: raw.toString('base64') };
  raw.fill(0);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(body)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await chmod(tmp, 0o600);
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp);
  }
}
