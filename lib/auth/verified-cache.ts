/**
 * Remembers what a token verified to, so an unchanged token is verified
 * once rather than on every request: keyed by the exact token string, each
 * entry lives until the token expires (or sooner, `maxAgeMs` after it was
 * issued), at most `max` entries (least recently used go first), and all
 * are forgotten when the signing keys change. Only successful
 * verifications are kept: a bad token is checked again every time.
 * Values are deep-frozen, so one request cannot change what the next sees.
 * Internal to lib/auth and the gateway.
 */

export interface VerifiedTokenCacheOptions {
  /** Most tokens kept. 0 turns the cache off. @default 10000 */
  max?: number;
  /** An entry never outlives its token's `iat` plus this. @default Infinity */
  maxAgeMs?: number;
  /** Changes when the verification keys change (rotation): every entry goes. @default never */
  keysVersion?: () => number | string;
  /** Clock in ms (tests freeze it). @default Date.now */
  now?: () => number;
}

export interface VerifiedTokenCache<V> {
  /** The value `token` verified to, while it is still valid. */
  get(token: string): V | undefined;
  /**
   * Keeps `value` for `token`, verified just now, with its `exp` and `iat`
   * claims (epoch seconds). Without `exp` nothing is kept.
   */
  set(token: string, value: V, claims: { exp?: number; iat?: number }): V;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

export function createVerifiedTokenCache<V>(opts: VerifiedTokenCacheOptions = {}): VerifiedTokenCache<V> {
  const max = opts.max ?? 10_000;
  const maxAgeMs = opts.maxAgeMs ?? Number.POSITIVE_INFINITY;
  const now = opts.now ?? Date.now;
  const entries = new Map<string, { value: V; until: number }>();
  let version = opts.keysVersion?.();
  const checkKeys = () => {
    if (!opts.keysVersion) return;
    const v = opts.keysVersion();
    if (v !== version) {
      entries.clear();
      version = v;
    }
  };
  return {
    get(token) {
      if (max === 0) return undefined;
      checkKeys();
      const entry = entries.get(token);
      if (!entry) return undefined;
      entries.delete(token);
      if (entry.until <= now()) return undefined;
      // Most recently used goes last.
      entries.set(token, entry);
      return entry.value;
    },
    set(token, value, claims) {
      if (max === 0 || typeof claims.exp !== 'number') return value;
      checkKeys();
      const until = Math.min(claims.exp * 1000, typeof claims.iat === 'number' ? claims.iat * 1000 + maxAgeMs : Number.POSITIVE_INFINITY);
      if (until <= now()) return value;
      entries.delete(token);
      entries.set(token, { value: deepFreeze(value), until });
      while (entries.size > max) entries.delete(entries.keys().next().value as string);
      return value;
    },
  };
}
