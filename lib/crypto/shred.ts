/**
 * Crypto-shredding: destroying a data key makes every value encrypted under
 * it unreadable everywhere — this database, its replicas, its backups and
 * any copy — without finding or touching those values.
 *
 * A destroyed record keeps its metadata (who, which version, when) with
 * `wrappedKey` wiped and `status: 'destroyed'`. This process forgets the
 * keys at once; other processes when their cache entry expires (the vault's
 * `cacheTtlMs`, `DATA_KEY_CACHE_TTL_MS`): each subgraph is a process with a
 * cache of its own, so for that long another one may still decrypt.
 *
 * What it cannot reach: a backup of `key_vault` itself taken before the
 * shred still holds the wrapped key, readable by whoever also holds the
 * master key. Keep key_vault backups short-lived, or rotate the master key
 * (`rewrapAll`) and destroy the old one after shredding, so that no copy of
 * the old wrapped key can be opened. Blind indexes stored beside the values
 * survive too (they are truncated HMACs, not the values): erasure.ts
 * (`eraseSubject`, `eraseTenant`) shreds and removes them; call that, not
 * these, to erase someone.
 */
import type { KeyVault } from './key-vault';
import type { DataKeyFilter } from './vault-store';

export interface ShredResult {
  /** Key versions destroyed by this call (0 when they already were). */
  destroyed: number;
}

async function destroyMatching(vault: KeyVault, filter: DataKeyFilter, evict: { tenantId: string; subjectId?: string }): Promise<ShredResult> {
  let destroyed = 0;
  // Repeat until a pass finds nothing left: a record whose status changed under us
  // (retired concurrently) fails the compare-and-set and is taken on the next pass.
  for (let pass = 0; pass < 10; pass++) {
    let remaining = 0;
    for await (const r of vault.store.find({ ...filter, status: ['active', 'retired'] })) {
      remaining++;
      const ok = await vault.store.update(r._id, { status: r.status }, { status: 'destroyed', wrappedKey: null, destroyedAt: vault.clock() });
      if (ok) destroyed++;
    }
    vault.evict(evict);
    if (remaining === 0) return { destroyed };
  }
  throw new Error('shredding did not converge: keys keep changing');
}

/** Destroys every version of one data subject's key in a tenant. Idempotent. */
export function shredSubject(vault: KeyVault, subject: { tenantId: string; subjectId: string }): Promise<ShredResult> {
  if (!subject.tenantId || !subject.subjectId) throw new TypeError('tenantId and subjectId are required');
  return destroyMatching(vault, { tenantId: subject.tenantId, scope: 'subject', subjectId: subject.subjectId }, subject);
}

/** Destroys every data key of a tenant: its own and all its subjects'. Idempotent. */
export function shredTenant(vault: KeyVault, tenantId: string): Promise<ShredResult> {
  if (!tenantId) throw new TypeError('tenantId is required');
  return destroyMatching(vault, { tenantId }, { tenantId });
}
