/**
 * A bounded least-recently-used map whose entries also expire after a
 * time-to-live. Internal to lib/crypto: holds unwrapped data keys.
 */

export class TtlLru<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number }>();

  /**
   * @param max most entries kept; the least recently used goes first
   * @param ttlMs an entry older than this is gone (checked on read)
   * @param now clock in ms, injectable for tests
   */
  constructor(
    readonly max: number,
    readonly ttlMs: number,
    private readonly now: () => number,
  ) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('cache size must be a positive integer');
    if (!(ttlMs > 0)) throw new RangeError('cache ttl must be positive');
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(key, entry); // most recently used goes last
    return entry.value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as K);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  /** Drops every entry `test` accepts. */
  deleteWhere(test: (value: V, key: K) => boolean): number {
    let n = 0;
    for (const [key, entry] of this.entries) {
      if (test(entry.value, key)) {
        this.entries.delete(key);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.entries.clear();
  }
}
