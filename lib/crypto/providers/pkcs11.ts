/**
 * The `pkcs11` master key provider: a non-extractable AES-256 key inside an
 * HSM (or a cloud HSM, or SoftHSM2 in tests), reached through PKCS#11 with
 * `pkcs11js`. Data keys are wrapped and unwrapped with CKM_AES_GCM inside
 * the token (12-byte nonce from node's CSPRNG, 128-bit tag, the context as
 * AAD); the master key's bytes never enter this process.
 *
 * The key is found by its CKA_LABEL, `<env>/<name>` (e.g.
 * `production/tracksafe-master`); a label for another environment is
 * refused. On open the key's attributes are checked: an AES key of 32
 * bytes, CKA_SENSITIVE true and CKA_EXTRACTABLE false, or it is refused.
 * `ensurePkcs11MasterKey` creates such a key (for tests and development; in
 * production the HSM's own tooling and key ceremony create it).
 *
 * One PKCS#11 session per provider, logged in as the user; operations on it
 * are serialised (a session runs one operation at a time) and run on
 * pkcs11js's worker thread so a slow network HSM does not block the event
 * loop. A lost session (HSM restart, network) is reopened once per call.
 */
import { randomBytes } from 'node:crypto';
import type * as Pkcs11 from 'pkcs11js';
import type { AppEnv } from '../../config';
import type { Context } from '../canonical';
import { KeyEnvironmentMismatchError, KeyProviderConfigError, KeyProviderUnavailableError, KeyUnwrapFailedError, MasterKeyNotFoundError } from '../errors';
import { DATA_KEY_BYTES, NONCE_BYTES, TAG_BYTES, WRAP_FORMAT, WRAPPED_KEY_BYTES, wrapAad, type MasterKeyProvider } from './types';

type Binding = typeof Pkcs11;

export interface Pkcs11MasterKeyOptions {
  env: AppEnv;
  /** Path of the PKCS#11 module (e.g. `/usr/lib/softhsm/libsofthsm2.so`). */
  modulePath: string;
  /** The token by its label (preferred: slot ids change, SoftHSM2 renumbers them). */
  tokenLabel?: string;
  /** Or by position in the list of slots with a token present. Used when `tokenLabel` is unset. @default 0 */
  slotIndex?: number;
  /** The user PIN of the token. */
  pin: string;
  /**
   * CKA_LABEL of the master key: `<env>/<name>`; a label for another
   * environment is refused. The provider id is `pkcs11:<label>`.
   * @default `${env}/tracksafe-master`
   */
  keyLabel?: string;
  /**
   * The CK_GCM_PARAMS layout the module expects: PKCS#11 2.40 (with
   * `ulIvBits`, SoftHSM2 and current HSMs) or the 2.30 one of older modules.
   * @default 'v2.40'
   */
  gcmParams?: 'v2.40' | 'v2.30';
}

/** What the token says about the master key (for the admin view and tests). */
export interface Pkcs11KeyInfo {
  label: string;
  valueLen: number;
  sensitive: boolean;
  extractable: boolean;
  alwaysSensitive: boolean;
  neverExtractable: boolean;
  token: boolean;
}

let binding: Binding | undefined;

/** pkcs11js, loaded on first use so that a machine without its native build still runs the local provider. */
export function pkcs11Binding(): Binding {
  if (!binding) {
    try {
      binding = require('pkcs11js') as Binding;
    } catch (err) {
      throw new KeyProviderConfigError(`the pkcs11 master key provider needs the pkcs11js native module (npm ci with its install script approved): ${(err as Error).message}`);
    }
  }
  return binding;
}

/** Name of a PKCS#11 return value (`CKR_…`), for errors and decisions. */
function ckrName(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'number') return 'CKR_UNKNOWN';
  const b = pkcs11Binding() as unknown as Record<string, unknown>;
  for (const key of Object.keys(b)) if (key.startsWith('CKR_') && b[key] === code) return key;
  return `CKR_0x${code.toString(16)}`;
}

// One loaded and initialised module per path, shared by every provider in the process.
const modules = new Map<string, { lib: Pkcs11.PKCS11; refs: number }>();

function acquireModule(modulePath: string): Pkcs11.PKCS11 {
  const existing = modules.get(modulePath);
  if (existing) {
    existing.refs++;
    return existing.lib;
  }
  const b = pkcs11Binding();
  const lib = new b.PKCS11();
  try {
    lib.load(modulePath);
  } catch (err) {
    throw new KeyProviderConfigError(`cannot load PKCS#11 module ${modulePath}: ${(err as Error).message}`);
  }
  try {
    lib.C_Initialize({ flags: b.CKF_OS_LOCKING_OK });
  } catch (err) {
    // Another copy of this module (e.g. a second jest module registry) initialised it already.
    if (ckrName(err) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') throw new KeyProviderConfigError(`cannot initialise PKCS#11 module ${modulePath}: ${ckrName(err)}`);
  }
  modules.set(modulePath, { lib, refs: 1 });
  return lib;
}

function releaseModule(modulePath: string): void {
  const entry = modules.get(modulePath);
  if (!entry || --entry.refs > 0) return;
  modules.delete(modulePath);
  try {
    entry.lib.C_Finalize();
  } catch {
    // Finalising is best effort: the process may be going away.
  }
  try {
    entry.lib.close();
  } catch {
    // as above
  }
}

/** Validates the key label and returns it (default `<env>/tracksafe-master`). */
function keyLabelFor(opts: Pick<Pkcs11MasterKeyOptions, 'env' | 'keyLabel'>): string {
  const label = opts.keyLabel ?? `${opts.env}/tracksafe-master`;
  const m = /^([a-z]+)\/([A-Za-z0-9][A-Za-z0-9._-]{0,63})$/.exec(label);
  if (!m || !['development', 'staging', 'production'].includes(m[1])) {
    throw new KeyProviderConfigError(`PKCS#11 key label "${label}" must be <environment>/<name>`);
  }
  if (m[1] !== opts.env) throw new KeyEnvironmentMismatchError('the PKCS#11 master key', m[1], opts.env);
  return label;
}

function findSlot(lib: Pkcs11.PKCS11, opts: Pick<Pkcs11MasterKeyOptions, 'tokenLabel' | 'slotIndex'>): Pkcs11.Handle {
  const slots = lib.C_GetSlotList(true);
  if (opts.tokenLabel !== undefined) {
    for (const slot of slots) {
      if (lib.C_GetTokenInfo(slot).label.trimEnd() === opts.tokenLabel) return slot;
    }
    throw new KeyProviderConfigError(`no PKCS#11 token labelled "${opts.tokenLabel}"`);
  }
  const index = opts.slotIndex ?? 0;
  if (!Number.isInteger(index) || index < 0 || index >= slots.length) throw new KeyProviderConfigError(`no PKCS#11 token in slot index ${index} (${slots.length} with a token)`);
  return slots[index];
}

function login(lib: Pkcs11.PKCS11, session: Pkcs11.Handle, pin: string): void {
  const b = pkcs11Binding();
  try {
    lib.C_Login(session, b.CKU_USER, pin);
  } catch (err) {
    const name = ckrName(err);
    if (name === 'CKR_USER_ALREADY_LOGGED_IN') return;
    if (name === 'CKR_PIN_INCORRECT' || name === 'CKR_PIN_LOCKED') throw new KeyProviderConfigError(`PKCS#11 login refused (${name})`);
    throw new KeyProviderUnavailableError('pkcs11', name);
  }
}

function findKeys(lib: Pkcs11.PKCS11, session: Pkcs11.Handle, label: string): Pkcs11.Handle[] {
  const b = pkcs11Binding();
  lib.C_FindObjectsInit(session, [
    { type: b.CKA_CLASS, value: b.CKO_SECRET_KEY },
    { type: b.CKA_LABEL, value: label },
  ]);
  try {
    return lib.C_FindObjects(session, 4);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}

function readUlong(value: Buffer): number {
  if (value.length === 8) return Number(value.readBigUInt64LE());
  if (value.length === 4) return value.readUInt32LE();
  return value.length ? value[0] : 0;
}

function describe(lib: Pkcs11.PKCS11, session: Pkcs11.Handle, key: Pkcs11.Handle): Pkcs11KeyInfo & { keyType: number } {
  const b = pkcs11Binding();
  const attrs = lib.C_GetAttributeValue(session, key, [
    { type: b.CKA_LABEL },
    { type: b.CKA_KEY_TYPE },
    { type: b.CKA_VALUE_LEN },
    { type: b.CKA_SENSITIVE },
    { type: b.CKA_EXTRACTABLE },
    { type: b.CKA_ALWAYS_SENSITIVE },
    { type: b.CKA_NEVER_EXTRACTABLE },
    { type: b.CKA_TOKEN },
  ]);
  const [label, keyType, valueLen, sensitive, extractable, alwaysSensitive, neverExtractable, token] = attrs.map((a) => a.value);
  const bool = (v: Buffer) => v.length > 0 && v[0] !== 0;
  return {
    label: label.toString('utf8'),
    keyType: readUlong(keyType),
    valueLen: readUlong(valueLen),
    sensitive: bool(sensitive),
    extractable: bool(extractable),
    alwaysSensitive: bool(alwaysSensitive),
    neverExtractable: bool(neverExtractable),
    token: bool(token),
  };
}

// Failures of C_Decrypt that mean "this wrapped key does not open with this key and context".
// SoftHSM2 reports a bad GCM tag as CKR_GENERAL_ERROR; HSMs as CKR_ENCRYPTED_DATA_INVALID.
const UNWRAP_FAILURES = new Set(['CKR_ENCRYPTED_DATA_INVALID', 'CKR_ENCRYPTED_DATA_LEN_RANGE', 'CKR_GENERAL_ERROR', 'CKR_FUNCTION_FAILED', 'CKR_DATA_INVALID', 'CKR_DATA_LEN_RANGE']);
// Failures after which a fresh session (and login) may succeed.
const SESSION_LOST = new Set(['CKR_SESSION_HANDLE_INVALID', 'CKR_SESSION_CLOSED', 'CKR_USER_NOT_LOGGED_IN', 'CKR_DEVICE_REMOVED', 'CKR_TOKEN_NOT_PRESENT', 'CKR_KEY_HANDLE_INVALID', 'CKR_OBJECT_HANDLE_INVALID']);

export class Pkcs11MasterKeyProvider implements MasterKeyProvider {
  private session: Pkcs11.Handle | undefined;
  private key: Pkcs11.Handle | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly id: string,
    readonly env: AppEnv,
    readonly keyLabel: string,
    private readonly opts: Pkcs11MasterKeyOptions,
    private readonly lib: Pkcs11.PKCS11,
  ) {}

  /**
   * Loads the module, opens a session on the token, logs in and finds the
   * key. Throws `KeyEnvironmentMismatchError` for a label of another
   * environment, `MasterKeyNotFoundError` (a `KeyProviderConfigError`) when
   * no key has the label, and `KeyProviderConfigError` when it is
   * ambiguous, not AES-256, extractable or not sensitive. A key deleted
   * while the provider is open (revoked) makes later calls throw
   * `MasterKeyNotFoundError` too.
   */
  static async open(opts: Pkcs11MasterKeyOptions): Promise<Pkcs11MasterKeyProvider> {
    const label = keyLabelFor(opts);
    const lib = acquireModule(opts.modulePath);
    const provider = new Pkcs11MasterKeyProvider(`pkcs11:${label}`, opts.env, label, opts, lib);
    try {
      provider.connect();
    } catch (err) {
      await provider.close();
      throw err;
    }
    return provider;
  }

  /** The key's attributes as the token reports them. */
  async describeKey(): Promise<Pkcs11KeyInfo> {
    return this.serialised(async () => {
      const { keyType: _keyType, ...info } = describe(this.lib, this.session!, this.key!);
      return info;
    });
  }

  async wrap(plain: Buffer, context: Context): Promise<Buffer> {
    const aad = wrapAad(this, context);
    if (plain.length !== DATA_KEY_BYTES) throw new KeyProviderConfigError('only 256-bit data keys are wrapped');
    const nonce = randomBytes(NONCE_BYTES);
    const body = await this.run('encrypt', nonce, aad, plain);
    return Buffer.concat([Buffer.of(WRAP_FORMAT), nonce, body]);
  }

  async unwrap(wrapped: Buffer, context: Context): Promise<Buffer> {
    const aad = wrapAad(this, context);
    if (wrapped.length !== WRAPPED_KEY_BYTES || wrapped[0] !== WRAP_FORMAT) throw new KeyUnwrapFailedError();
    const nonce = wrapped.subarray(1, 1 + NONCE_BYTES);
    const plain = await this.run('decrypt', nonce, aad, wrapped.subarray(1 + NONCE_BYTES));
    if (plain.length !== DATA_KEY_BYTES) throw new KeyUnwrapFailedError();
    return plain;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    if (this.session) {
      try {
        this.lib.C_CloseSession(this.session);
      } catch {
        // The session may already be gone with the device.
      }
    }
    this.session = undefined;
    this.key = undefined;
    releaseModule(this.opts.modulePath);
  }

  /** Opens a session, logs in and finds and checks the key (synchronous PKCS#11 calls). */
  private connect(): void {
    const b = pkcs11Binding();
    // Until the key is found again, the next call must look for it (it may have been deleted: a revoked key).
    this.key = undefined;
    if (this.session) {
      try {
        this.lib.C_CloseSession(this.session);
      } catch {
        // reconnecting after a lost session
      }
      this.session = undefined;
    }
    const slot = findSlot(this.lib, this.opts);
    const session = this.lib.C_OpenSession(slot, b.CKF_SERIAL_SESSION);
    this.session = session;
    login(this.lib, session, this.opts.pin);
    const keys = findKeys(this.lib, session, this.keyLabel);
    if (keys.length === 0) throw new MasterKeyNotFoundError(this.id, `no PKCS#11 key labelled "${this.keyLabel}" on the token`);
    if (keys.length > 1) throw new KeyProviderConfigError(`${keys.length} PKCS#11 keys are labelled "${this.keyLabel}": labels must be unique`);
    const info = describe(this.lib, session, keys[0]);
    if (info.label !== this.keyLabel) throw new KeyProviderConfigError(`PKCS#11 key label mismatch ("${info.label}")`);
    if (info.keyType !== b.CKK_AES || info.valueLen !== DATA_KEY_BYTES) throw new KeyProviderConfigError(`PKCS#11 key "${this.keyLabel}" is not an AES-256 key`);
    if (info.extractable || !info.sensitive) throw new KeyProviderConfigError(`PKCS#11 key "${this.keyLabel}" is extractable or not sensitive: a master key must never leave the HSM`);
    this.key = keys[0];
  }

  private serialised<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(() => {
      if (this.closed) throw new KeyProviderConfigError(`master key provider ${this.id} is closed`);
      return op();
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private run(kind: 'encrypt' | 'decrypt', nonce: Buffer, aad: Buffer, input: Buffer): Promise<Buffer> {
    return this.serialised(async () => {
      try {
        // A reconnect that found no key left none: look again (the key may be back), or fail as not found.
        if (!this.key) this.connect();
        return await this.once(kind, nonce, aad, input);
      } catch (err) {
        if (!SESSION_LOST.has(ckrName(err))) throw this.translate(kind, err);
      }
      try {
        this.connect();
        return await this.once(kind, nonce, aad, input);
      } catch (err) {
        throw this.translate(kind, err);
      }
    });
  }

  private once(kind: 'encrypt' | 'decrypt', nonce: Buffer, aad: Buffer, input: Buffer): Promise<Buffer> {
    const b = pkcs11Binding();
    const parameter: Pkcs11.AesGCM =
      this.opts.gcmParams === 'v2.30'
        ? { type: b.CK_PARAMS_AES_GCM, iv: nonce, aad, ivBits: NONCE_BYTES * 8, tagBits: TAG_BYTES * 8 }
        : { type: b.CK_PARAMS_AES_GCM_v240, iv: nonce, aad, ivBits: NONCE_BYTES * 8, tagBits: TAG_BYTES * 8 };
    const mechanism = { mechanism: b.CKM_AES_GCM, parameter };
    const session = this.session!;
    const out = Buffer.alloc(input.length + TAG_BYTES);
    return new Promise<Buffer>((resolve, reject) => {
      const done = (error: Error | null, data: Buffer) => (error ? reject(error) : resolve(data));
      if (kind === 'encrypt') {
        this.lib.C_EncryptInit(session, mechanism, this.key!);
        this.lib.C_Encrypt(session, input, out, done);
      } else {
        this.lib.C_DecryptInit(session, mechanism, this.key!);
        this.lib.C_Decrypt(session, input, out, done);
      }
    });
  }

  private translate(kind: 'encrypt' | 'decrypt', err: unknown): Error {
    if (err instanceof KeyProviderConfigError || err instanceof KeyProviderUnavailableError) return err;
    const name = ckrName(err);
    if (kind === 'decrypt' && UNWRAP_FAILURES.has(name)) return new KeyUnwrapFailedError();
    return new KeyProviderUnavailableError(this.id, name);
  }
}

/**
 * Creates the master key on the token unless a key with its label exists:
 * AES-256, generated inside the token, CKA_TOKEN (persistent), CKA_PRIVATE,
 * CKA_SENSITIVE, not CKA_EXTRACTABLE, usable only to encrypt and decrypt.
 * For tests and development; production keys come from the HSM's key
 * ceremony. Returns the label and whether the key was created now.
 */
export async function ensurePkcs11MasterKey(opts: Pkcs11MasterKeyOptions): Promise<{ label: string; created: boolean }> {
  const b = pkcs11Binding();
  const label = keyLabelFor(opts);
  const lib = acquireModule(opts.modulePath);
  let session: Pkcs11.Handle | undefined;
  try {
    session = lib.C_OpenSession(findSlot(lib, opts), b.CKF_SERIAL_SESSION | b.CKF_RW_SESSION);
    login(lib, session, opts.pin);
    if (findKeys(lib, session, label).length > 0) return { label, created: false };
    lib.C_GenerateKey(session, { mechanism: b.CKM_AES_KEY_GEN }, [
      { type: b.CKA_CLASS, value: b.CKO_SECRET_KEY },
      { type: b.CKA_KEY_TYPE, value: b.CKK_AES },
      { type: b.CKA_VALUE_LEN, value: DATA_KEY_BYTES },
      { type: b.CKA_LABEL, value: label },
      { type: b.CKA_TOKEN, value: true },
      { type: b.CKA_PRIVATE, value: true },
      { type: b.CKA_SENSITIVE, value: true },
      { type: b.CKA_EXTRACTABLE, value: false },
      { type: b.CKA_ENCRYPT, value: true },
      { type: b.CKA_DECRYPT, value: true },
      { type: b.CKA_WRAP, value: false },
      { type: b.CKA_UNWRAP, value: false },
      { type: b.CKA_SIGN, value: false },
      { type: b.CKA_VERIFY, value: false },
      { type: b.CKA_DERIVE, value: false },
    ]);
    return { label, created: true };
  } catch (err) {
    if (err instanceof KeyProviderConfigError || err instanceof KeyEnvironmentMismatchError) throw err;
    throw new KeyProviderUnavailableError(`pkcs11:${label}`, ckrName(err));
  } finally {
    if (session) {
      try {
        lib.C_CloseSession(session);
      } catch {
        // best effort
      }
    }
    releaseModule(opts.modulePath);
  }
}
