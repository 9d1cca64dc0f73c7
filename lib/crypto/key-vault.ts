/**
 * The key vault: data keys, wrapped by master keys, stored through a
 * `KeyVaultStore` (the `key_vault` collection in production), unwrapped on
 * demand and cached in memory.
 *
 * - One data key series per tenant (its business data) and one per data
 *   subject (their personal data, so erasure can shred it); each series has
 *   versions 1, 2, …; the highest active version encrypts new values, every
 *   non-destroyed version decrypts.
 * - `dataKeyFor` creates a series' first version lazily. Two processes doing
 *   so at once both insert version 1; the unique index on (scope, tenantId,
 *   subjectId, version) keeps the first and the loser reads it back.
 * - Per-tenant master keys (BYOK): `masterKeyFor(tenantId)` picks the master
 *   key that wraps a tenant's new data keys; stored keys are unwrapped by the
 *   provider named in their `masterKeyId`, which must be known to the vault.
 * - A master key that is unavailable — not known to the vault, or gone from
 *   its provider (a tenant's own key revoked) — makes its data keys
 *   unreadable, not the process: decryption answers `DecryptionFailedError`
 *   with reason MASTER_KEY_UNAVAILABLE (the plugin reads null), encryption
 *   `MasterKeyUnavailableError`. The answer is cached like a key, for the
 *   TTL, so a revoked key costs one provider call per data key and TTL, and a
 *   key that comes back is used again after it.
 * - Plaintext keys live only in `KeyObject`s, in a bounded LRU with a TTL.
 *   The TTL is also how long another process may keep using a key after it
 *   was shredded or superseded here: keep it short.
 */
import { createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import type { AppEnv } from '../config';
import type { Context } from './canonical';
import { DecryptionFailedError, KeyEnvironmentMismatchError, KeyVaultError, MasterKeyNotFoundError, MasterKeyUnavailableError } from './errors';
import { TtlLru } from './lru';
import { DATA_KEY_BYTES, parseMasterKeyId, type MasterKeyProvider } from './providers/types';
import { DuplicateDataKeyError, type DataKeyFilter, type DataKeyRecord, type DataKeyScope, type DataKeySeries, type KeyVaultStore } from './vault-store';

/** An unwrapped data key. `key` never prints its bytes. */
export interface DataKey {
  readonly id: string;
  readonly scope: DataKeyScope;
  readonly tenantId: string;
  readonly subjectId: string | null;
  readonly version: number;
  readonly key: KeyObject;
}

/** A stored data key without its wrapped bytes: for listings and the admin view of key ages. */
export type DataKeyInfo = Omit<DataKeyRecord, 'wrappedKey'> & { ageDays: number };

/** Which series: the tenant's own key, or (with `subjectId`) one data subject's. */
export interface DataKeyRequest {
  tenantId: string;
  subjectId?: string | null;
}

export interface KeyVaultOptions {
  store: KeyVaultStore;
  /** This process's environment: master keys and stored data keys of another are refused. */
  env: AppEnv;
  /** The platform master key: wraps new data keys of tenants without their own. */
  masterKey: MasterKeyProvider;
  /** Further master keys stored data keys may name: a previous master key during rotation, tenants' own keys. */
  providers?: MasterKeyProvider[];
  /**
   * Customer-managed keys: the master key that wraps a tenant's new data
   * keys. Called when a series gets a new version; throwing fails that
   * creation (a revoked tenant key: `MasterKeyUnavailableError`, never a
   * fallback to another key). The provider returned is added to the vault's
   * known providers.
   * @default () => masterKey
   */
  masterKeyFor?: (tenantId: string) => MasterKeyProvider | Promise<MasterKeyProvider>;
  /** Most unwrapped data keys kept in memory. @default 1000 */
  cacheMaxKeys?: number;
  /** How long an unwrapped key (and which version is current) is trusted without asking the store. @default 60000 */
  cacheTtlMs?: number;
  /** Clock, injectable for tests. @default () => new Date() */
  now?: () => Date;
}

type Cached =
  | { key: DataKey }
  | { destroyed: true; tenantId: string; subjectId: string | null }
  /** Its master key could not be used (unknown here, or gone from its provider): asked again after the TTL. */
  | { unavailable: true; masterKeyId: string; tenantId: string; subjectId: string | null };

/** Whether a key is needed to read a value, or to write one (the failure a caller gets differs). */
type KeyUse = 'decrypt' | 'encrypt';

function unavailable(use: KeyUse, masterKeyId: string, tenantId: string): Error {
  return use === 'decrypt' ? new DecryptionFailedError('MASTER_KEY_UNAVAILABLE') : new MasterKeyUnavailableError(masterKeyId, tenantId);
}

const ID = /^[0-9a-f]{32}$/;
const INDEX_ROOT_INFO = 'tracksafe/blind-index-root/v1';

/** The associated data a data key is wrapped with: binds it to its record, series and environment. */
export function wrapContext(env: AppEnv, r: Pick<DataKeyRecord, '_id' | 'scope' | 'tenantId' | 'subjectId' | 'version'>): Context {
  return { purpose: 'data-key', env, keyId: r._id, scope: r.scope, tenantId: r.tenantId, subjectId: r.subjectId ?? '', version: String(r.version) };
}

function assertId(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) throw new KeyVaultError(`${name} must be a non-empty string of at most 256 characters`);
}

function seriesOf(req: DataKeyRequest): DataKeySeries {
  assertId('tenantId', req.tenantId);
  if (req.subjectId === undefined || req.subjectId === null) return { scope: 'tenant', tenantId: req.tenantId, subjectId: null };
  assertId('subjectId', req.subjectId);
  return { scope: 'subject', tenantId: req.tenantId, subjectId: req.subjectId };
}

function seriesKey(s: DataKeySeries): string {
  return JSON.stringify([s.scope, s.tenantId, s.subjectId]);
}

export class KeyVault {
  readonly env: AppEnv;
  readonly store: KeyVaultStore;
  private readonly providers = new Map<string, MasterKeyProvider>();
  private readonly masterKey: MasterKeyProvider;
  private readonly masterKeyFor: (tenantId: string) => MasterKeyProvider | Promise<MasterKeyProvider>;
  private readonly now: () => Date;
  private readonly keys: TtlLru<string, Cached>;
  private readonly current: TtlLru<string, { id: string; tenantId: string; subjectId: string | null }>;
  private readonly indexRoots: TtlLru<string, KeyObject>;
  private readonly inflight = new Map<string, Promise<unknown>>();
  private counters = { hits: 0, misses: 0, unwraps: 0, created: 0 };

  constructor(opts: KeyVaultOptions) {
    this.env = opts.env;
    this.store = opts.store;
    this.masterKey = opts.masterKey;
    this.now = opts.now ?? (() => new Date());
    this.masterKeyFor = opts.masterKeyFor ?? (() => this.masterKey);
    this.addProvider(opts.masterKey);
    for (const p of opts.providers ?? []) this.addProvider(p);
    const max = opts.cacheMaxKeys ?? 1000;
    const ttl = opts.cacheTtlMs ?? 60_000;
    const clock = opts.now ? () => this.now().getTime() : Date.now;
    this.keys = new TtlLru(max, ttl, clock);
    this.current = new TtlLru(max, ttl, clock);
    this.indexRoots = new TtlLru(max, ttl, clock);
  }

  /** Makes a master key known for unwrapping (rotation, a tenant's own key). Refuses one of another environment. */
  addProvider(provider: MasterKeyProvider): void {
    if (provider.env !== this.env) throw new KeyEnvironmentMismatchError(`master key ${provider.id}`, provider.env, this.env);
    const { env } = parseMasterKeyId(provider.id);
    if (env !== this.env) throw new KeyEnvironmentMismatchError(`master key ${provider.id}`, env, this.env);
    const known = this.providers.get(provider.id);
    if (known && known !== provider) throw new KeyVaultError(`two providers claim master key id ${provider.id}`);
    this.providers.set(provider.id, provider);
  }

  /** The provider that holds master key `id`; throws when the vault does not know it. */
  providerFor(id: string): MasterKeyProvider {
    const p = this.knownProvider(id);
    if (!p) throw new KeyVaultError(`no provider for master key ${id}`);
    return p;
  }

  /** The provider of `id`, undefined when unknown; refuses an id of another environment. */
  private knownProvider(id: string): MasterKeyProvider | undefined {
    const { env } = parseMasterKeyId(id);
    if (env !== this.env) throw new KeyEnvironmentMismatchError(`data key wrapped by ${id}`, env, this.env);
    return this.providers.get(id);
  }

  /** Creates the store's indexes. Call once at start-up. */
  async init(): Promise<void> {
    await this.store.init();
  }

  /**
   * The key new values of this tenant (or, with `subjectId`, this data
   * subject) are encrypted with: the highest active version, created when
   * the series has none. Concurrent callers, here or in other processes, get
   * the same key.
   */
  async dataKeyFor(req: DataKeyRequest): Promise<DataKey> {
    const series = seriesOf(req);
    const sk = seriesKey(series);
    const pointer = this.current.get(sk);
    if (pointer) {
      const hit = this.keys.get(pointer.id);
      if (hit && 'key' in hit) {
        this.counters.hits++;
        return hit.key;
      }
    }
    return this.singleFlight(`current:${sk}`, async () => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const active = await this.store.findLatest(series, ['active']);
        if (active) {
          const key = await this.unwrapRecord(active, 'encrypt');
          this.current.set(sk, { id: active._id, tenantId: series.tenantId, subjectId: series.subjectId });
          return key;
        }
        const latest = await this.store.findLatest(series);
        const created = await this.createVersion(series, (latest?.version ?? 0) + 1);
        if (created) {
          this.current.set(sk, { id: created.id, tenantId: series.tenantId, subjectId: series.subjectId });
          return created;
        }
        // Another process created that version first: read it back.
      }
      throw new KeyVaultError('could not create a data key: too many concurrent creations');
    });
  }

  /**
   * The data key an envelope names, for decryption (any non-destroyed
   * version). Throws `DecryptionFailedError` with reason KEY_NOT_FOUND,
   * KEY_DESTROYED or MASTER_KEY_UNAVAILABLE.
   */
  async dataKeyById(id: string): Promise<DataKey> {
    if (!ID.test(id)) throw new DecryptionFailedError('MALFORMED');
    const hit = this.keys.get(id);
    if (hit) {
      this.counters.hits++;
      if ('destroyed' in hit) throw new DecryptionFailedError('KEY_DESTROYED');
      if ('unavailable' in hit) throw new DecryptionFailedError('MASTER_KEY_UNAVAILABLE');
      return hit.key;
    }
    return this.singleFlight(`id:${id}`, async () => {
      const record = await this.store.findById(id);
      if (!record) throw new DecryptionFailedError('KEY_NOT_FOUND');
      return this.unwrapRecord(record, 'decrypt');
    });
  }

  /**
   * The cached key of `id` without waiting: the key, `'destroyed'`, or
   * undefined when it is not in memory (then use `dataKeyById`, which also
   * answers for a key whose master key is unavailable). Batch decryption
   * calls `prefetch` once and then reads keys this way.
   */
  peekKey(id: string): DataKey | 'destroyed' | undefined {
    const hit = this.keys.get(id);
    if (!hit || 'unavailable' in hit) return undefined;
    this.counters.hits++;
    return 'key' in hit ? hit.key : 'destroyed';
  }

  /**
   * Loads the keys of `ids` that are not cached in one store round trip and
   * unwraps them, so decrypting a page of documents costs one key-vault
   * query rather than one per data subject. Unknown ids are left for
   * `dataKeyById` to refuse; destroyed ones are remembered as such.
   */
  async prefetch(ids: Iterable<string>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => ID.test(id) && !this.keys.get(id));
    if (missing.length === 0) return;
    const records = await this.store.findByIds(missing);
    await Promise.all(
      records.map((r) =>
        this.singleFlight(`id:${r._id}`, () => this.unwrapRecord(r, 'decrypt')).catch((err: unknown) => {
          if (!(err instanceof DecryptionFailedError)) throw err;
        }),
      ),
    );
  }

  /**
   * The root of a tenant's blind-index keys: HKDF-SHA-256 of the tenant's
   * oldest surviving data key, info `tracksafe/blind-index-root/v1`. It does
   * not change when data keys rotate (indexes stay valid) and dies with the
   * tenant's keys when the tenant is shredded.
   */
  async indexRootKey(tenantId: string): Promise<KeyObject> {
    assertId('tenantId', tenantId);
    const cached = this.indexRoots.get(tenantId);
    if (cached) return cached;
    return this.singleFlight(`index:${tenantId}`, async () => {
      let oldest: DataKeyRecord | undefined;
      for await (const r of this.store.find({ tenantId, scope: 'tenant', subjectId: null, status: ['active', 'retired'] })) {
        if (!oldest || r.version < oldest.version) oldest = r;
      }
      const base = oldest ? await this.unwrapRecord(oldest, 'encrypt') : await this.dataKeyFor({ tenantId });
      const root = createSecretKey(Buffer.from(hkdfSync('sha256', base.key, Buffer.alloc(0), INDEX_ROOT_INFO, DATA_KEY_BYTES)));
      this.indexRoots.set(tenantId, root);
      return root;
    });
  }

  /**
   * Starts a new version of a series: new values are encrypted with it from
   * now on in this process, and in others once their cache entry expires.
   * Older versions stay active (they still decrypt) until `retireIfUnused`.
   */
  async newDataKeyVersion(req: DataKeyRequest): Promise<DataKeyInfo> {
    const series = seriesOf(req);
    for (let attempt = 0; attempt < 5; attempt++) {
      const latest = await this.store.findLatest(series);
      const created = await this.createVersion(series, (latest?.version ?? 0) + 1);
      if (created) {
        this.current.set(seriesKey(series), { id: created.id, tenantId: series.tenantId, subjectId: series.subjectId });
        const record = await this.store.findById(created.id);
        return this.info(record!);
      }
    }
    throw new KeyVaultError('could not create a data key version: too many concurrent creations');
  }

  /** Stored keys matching `filter`, without their wrapped bytes, with their age. */
  async listKeys(filter: DataKeyFilter = {}): Promise<DataKeyInfo[]> {
    const out: DataKeyInfo[] = [];
    for await (const r of this.store.find(filter)) out.push(this.info(r));
    return out;
  }

  /**
   * Forgets cached keys of a tenant, or of one subject of it, in this
   * process (shredding calls it; other processes forget after the TTL).
   */
  evict(filter: { tenantId: string; subjectId?: string }): void {
    const hit = (v: { tenantId: string; subjectId: string | null }) => v.tenantId === filter.tenantId && (filter.subjectId === undefined || v.subjectId === filter.subjectId);
    this.keys.deleteWhere((v) => hit('key' in v ? v.key : v));
    this.current.deleteWhere(hit);
    if (filter.subjectId === undefined) this.indexRoots.delete(filter.tenantId);
  }

  /** Forgets every cached key. */
  clearCache(): void {
    this.keys.clear();
    this.current.clear();
    this.indexRoots.clear();
  }

  /** Cache figures: entries, bound, hits, misses, unwraps through a master key, keys created. */
  cacheStats(): { size: number; max: number; ttlMs: number; hits: number; misses: number; unwraps: number; created: number } {
    return { size: this.keys.size, max: this.keys.max, ttlMs: this.keys.ttlMs, ...this.counters };
  }

  /** Current time of the vault's clock (shredding and rotation stamp records with it). */
  clock(): Date {
    return this.now();
  }

  info(r: DataKeyRecord): DataKeyInfo {
    const { wrappedKey: _w, ...rest } = r;
    return { ...rest, ageDays: Math.floor((this.now().getTime() - r.createdAt.getTime()) / 86_400_000) };
  }

  private async unwrapRecord(record: DataKeyRecord, use: KeyUse): Promise<DataKey> {
    const hit = this.keys.get(record._id);
    if (hit && 'key' in hit) return hit.key;
    if (hit && 'unavailable' in hit) throw unavailable(use, hit.masterKeyId, hit.tenantId);
    this.counters.misses++;
    if (record.status === 'destroyed' || !record.wrappedKey) {
      this.keys.set(record._id, { destroyed: true, tenantId: record.tenantId, subjectId: record.subjectId });
      throw new DecryptionFailedError('KEY_DESTROYED');
    }
    let plain: Buffer;
    try {
      const provider = this.knownProvider(record.masterKeyId);
      if (!provider) throw new MasterKeyNotFoundError(record.masterKeyId, `no provider for master key ${record.masterKeyId}`);
      plain = await provider.unwrap(record.wrappedKey, wrapContext(this.env, record));
    } catch (err) {
      // Only a key that is absent: a failed unwrap (tampering) or an HSM outage stays an error.
      if (!(err instanceof MasterKeyNotFoundError)) throw err;
      this.keys.set(record._id, { unavailable: true, masterKeyId: record.masterKeyId, tenantId: record.tenantId, subjectId: record.subjectId });
      throw unavailable(use, record.masterKeyId, record.tenantId);
    }
    this.counters.unwraps++;
    try {
      const key = this.toDataKey(record, plain);
      this.keys.set(record._id, { key });
      return key;
    } finally {
      plain.fill(0);
    }
  }

  /** Wraps and inserts a fresh key as `version` of the series; null when that version exists already. */
  private async createVersion(series: DataKeySeries, version: number): Promise<DataKey | null> {
    const provider = await this.masterKeyFor(series.tenantId);
    if (!this.providers.has(provider.id)) this.addProvider(provider);
    const plain = randomBytes(DATA_KEY_BYTES);
    try {
      const record: DataKeyRecord = {
        _id: randomBytes(16).toString('hex'),
        ...series,
        version,
        masterKeyId: provider.id,
        wrappedKey: null,
        status: 'active',
        createdAt: this.now(),
        retiredAt: null,
        destroyedAt: null,
      };
      try {
        record.wrappedKey = await provider.wrap(plain, wrapContext(this.env, record));
      } catch (err) {
        // The tenant's key was deleted from its provider (revoked) since it was opened.
        if (err instanceof MasterKeyNotFoundError) throw new MasterKeyUnavailableError(provider.id, series.tenantId);
        throw err;
      }
      try {
        await this.store.insert(record);
      } catch (err) {
        if (err instanceof DuplicateDataKeyError) return null;
        throw err;
      }
      this.counters.created++;
      const key = this.toDataKey(record, plain);
      this.keys.set(record._id, { key });
      return key;
    } finally {
      plain.fill(0);
    }
  }

  private toDataKey(r: DataKeyRecord, plain: Buffer): DataKey {
    if (plain.length !== DATA_KEY_BYTES) throw new KeyVaultError('a data key must be 256 bits');
    // createSecretKey copies the bytes, so the caller may wipe `plain`.
    return Object.freeze({ id: r._id, scope: r.scope, tenantId: r.tenantId, subjectId: r.subjectId, version: r.version, key: createSecretKey(plain) });
  }

  private singleFlight<T>(key: string, run: () => Promise<T>): Promise<T> {
    const pending = this.inflight.get(key) as Promise<T> | undefined;
    if (pending) return pending;
    const p = run().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }
}

/** Opens a vault and creates its store's indexes. */
export async function createKeyVault(opts: KeyVaultOptions): Promise<KeyVault> {
  const vault = new KeyVault(opts);
  await vault.init();
  return vault;
}
