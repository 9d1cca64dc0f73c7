/**
 * Rotation primitives. The re-encryption job built on them is reencrypt.ts;
 * the npm scripts (keys:rotate-master, keys:rotate-data) scripts/key-rotation.ts.
 *
 * - Master key rotation, `rewrapAll`: every data key wrapped by one master
 *   key is unwrapped and wrapped again by another. No data is touched:
 *   envelopes name data keys, not master keys. Resumable and idempotent: it
 *   works only on records still naming the old master key, so a crash
 *   leaves some rewrapped and the next run does the rest; reads keep
 *   working throughout as long as the vault knows both providers. Tenants
 *   with their own master key (BYOK, `targetFor`) have their keys moved onto
 *   it rather than onto the new platform key, so a platform rotation leaves
 *   each tenant's keys where its configuration says they belong.
 * - Data key rotation: `newDataKeyVersion` (new writes use the new version)
 *   and `retireIfUnused` (an old version is retired once the re-encryption
 *   job reports nothing uses it).
 */
import { KeyEnvironmentMismatchError, KeyVaultError } from './errors';
import { wrapContext, type DataKeyInfo, type DataKeyRequest, type KeyVault } from './key-vault';
import type { MasterKeyProvider } from './providers/types';

export interface RewrapOptions {
  /** Only this tenant's keys (a tenant moving to or from its own master key). */
  tenantId?: string;
  /**
   * A tenant's own master key (BYOK): its records go there instead of `to`.
   * Undefined (or `from` itself) for a tenant without one, or whose key is
   * unavailable: `to`.
   */
  targetFor?: (tenantId: string) => MasterKeyProvider | undefined;
  /** Called after each record, with running counts. Throwing stops the run (what was done stays done). */
  onProgress?: (progress: { rewrapped: number; skipped: number }) => void;
  /** Stops between records when aborted; a later run resumes. */
  signal?: AbortSignal;
}

export interface RewrapResult {
  /** Records now wrapped by `to`. */
  rewrapped: number;
  /** Records that changed under us (shredded, retired) and were left for the next run. */
  skipped: number;
  /** With `targetFor`: how many of `rewrapped` went to tenants' own master keys rather than `to`. */
  ontoTenantKeys?: number;
}

/**
 * Rewraps every non-destroyed data key wrapped by `from` under `to`. Adds
 * `to` to the vault's providers. Stops at the first provider failure and
 * throws it; run it again to resume.
 */
export async function rewrapAll(vault: KeyVault, from: MasterKeyProvider, to: MasterKeyProvider, options: RewrapOptions = {}): Promise<RewrapResult> {
  if (from.id === to.id) throw new KeyVaultError('rewrapAll needs two different master keys');
  for (const p of [from, to]) if (p.env !== vault.env) throw new KeyEnvironmentMismatchError(`master key ${p.id}`, p.env, vault.env);
  vault.addProvider(from);
  vault.addProvider(to);
  const result: RewrapResult = { rewrapped: 0, skipped: 0, ...(options.targetFor ? { ontoTenantKeys: 0 } : {}) };
  const filter = { masterKeyId: from.id, status: ['active', 'retired'] as Array<'active' | 'retired'>, ...(options.tenantId ? { tenantId: options.tenantId } : {}) };
  for await (const record of vault.store.find(filter)) {
    options.signal?.throwIfAborted();
    if (!record.wrappedKey) continue;
    const own = options.targetFor?.(record.tenantId);
    const target = own && own.id !== from.id ? own : to;
    if (target !== to) vault.addProvider(target);
    const context = wrapContext(vault.env, record);
    const plain = await from.unwrap(record.wrappedKey, context);
    let wrapped: Buffer;
    try {
      wrapped = await target.wrap(plain, context);
    } finally {
      plain.fill(0);
    }
    // Only if nobody shredded, retired or rewrapped it meanwhile: never resurrect a destroyed key.
    const ok = await vault.store.update(record._id, { masterKeyId: from.id, status: record.status }, { masterKeyId: target.id, wrappedKey: wrapped });
    if (ok) {
      result.rewrapped++;
      if (target !== to) result.ontoTenantKeys!++;
    } else result.skipped++;
    options.onProgress?.({ ...result });
  }
  return result;
}

/** A new version of a tenant's (or subject's) data key for new writes. See `KeyVault.newDataKeyVersion`. */
export function newDataKeyVersion(vault: KeyVault, req: DataKeyRequest): Promise<DataKeyInfo> {
  return vault.newDataKeyVersion(req);
}

export type RetireOutcome =
  | { retired: true; key: DataKeyInfo }
  /** CURRENT: it encrypts new writes; IN_USE: `isUsed` said so; NOT_ACTIVE: retired or destroyed already; CHANGED: its status changed meanwhile. */
  | { retired: false; reason: 'CURRENT' | 'IN_USE' | 'NOT_ACTIVE' | 'CHANGED' };

/**
 * Retires one old version of a series when nothing uses it any more.
 * `isUsed` is the re-encryption job's hook: it says whether any stored
 * value still names this key (e.g. by counting envelopes whose `readKeyRef`
 * is it); throwing aborts without change. A retired key still decrypts (a
 * restored backup, a write from a process whose cache still pointed at it)
 * but never encrypts; only shredding destroys it.
 */
export async function retireIfUnused(
  vault: KeyVault,
  ref: DataKeyRequest & { version: number },
  isUsed: (key: DataKeyInfo) => Promise<boolean>,
): Promise<RetireOutcome> {
  const subjectId = ref.subjectId ?? null;
  const series = { tenantId: ref.tenantId, scope: subjectId === null ? ('tenant' as const) : ('subject' as const), subjectId };
  let target;
  for await (const r of vault.store.find(series)) if (r.version === ref.version) target = r;
  if (!target) throw new KeyVaultError(`no data key version ${ref.version} in that series`);
  if (target.status !== 'active') return { retired: false, reason: 'NOT_ACTIVE' };
  const current = await vault.store.findLatest(series, ['active']);
  if (current?._id === target._id) return { retired: false, reason: 'CURRENT' };
  if (await isUsed(vault.info(target))) return { retired: false, reason: 'IN_USE' };
  const retiredAt = vault.clock();
  const ok = await vault.store.update(target._id, { status: 'active' }, { status: 'retired', retiredAt });
  if (!ok) return { retired: false, reason: 'CHANGED' };
  return { retired: true, key: vault.info({ ...target, status: 'retired', retiredAt }) };
}
