/**
 * `keyInventory`: the caller's tenant's data keys and their ages against the
 * rotation schedule (KEY_ROTATION_DAYS), for SECURITY_ADMINs and
 * PRIVACY_OFFICERs. The tenant's own key series is listed version by
 * version; the data subjects' keys (one series per subject) are only
 * counted, so the view never names a data subject. Metadata only: the key
 * vault's records without their wrapped bytes (`KeyVault.listKeys`). Every
 * key shows the master key that wraps it (subject keys counted per master
 * key), and the view says which master key wraps the tenant's new keys — its
 * own (BYOK, TENANT_MASTER_KEYS) or the platform's — and whether it is
 * available, so an admin can follow a move onto the tenant's own key.
 */
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { tenantOfCaller } from '../../lib/caller';
import type { DataKeyInfo } from '../../lib/crypto/key-vault';
import type { FieldCryptoRuntime } from '../../lib/crypto/runtime';
import type { IdentityContext } from './resolvers';

export interface TenantDataKeyView {
  id: string;
  version: number;
  status: 'ACTIVE' | 'RETIRED' | 'DESTROYED';
  current: boolean;
  masterKeyId: string;
  createdAt: Date;
  ageDays: number;
  rotationDue: boolean;
}

export interface KeyInventoryView {
  rotationDays: number;
  tenantKeys: TenantDataKeyView[];
  subjectKeys: {
    subjects: number;
    active: number;
    retired: number;
    destroyed: number;
    rotationDue: number;
    oldestCurrentAgeDays: number | null;
    masterKeys: Array<{ masterKeyId: string; keys: number }>;
  };
  masterKey: { id: string; customerManaged: boolean; available: boolean };
}

/** The highest active version of each series, by series (`subjectId`, null for the tenant's). */
function currentBySeries(keys: readonly DataKeyInfo[]): Map<string | null, DataKeyInfo> {
  const out = new Map<string | null, DataKeyInfo>();
  for (const k of keys) {
    if (k.status !== 'active') continue;
    const known = out.get(k.subjectId);
    if (!known || k.version > known.version) out.set(k.subjectId, k);
  }
  return out;
}

/** Non-destroyed keys per master key, most first (ties by id). */
function perMasterKey(keys: readonly DataKeyInfo[]): Array<{ masterKeyId: string; keys: number }> {
  const counts = new Map<string, number>();
  for (const k of keys) if (k.status !== 'destroyed') counts.set(k.masterKeyId, (counts.get(k.masterKeyId) ?? 0) + 1);
  return [...counts].map(([masterKeyId, n]) => ({ masterKeyId, keys: n })).sort((a, b) => b.keys - a.keys || a.masterKeyId.localeCompare(b.masterKeyId));
}

export async function keyInventory(crypto: Pick<FieldCryptoRuntime, 'vault' | 'rotationDays' | 'masterKeyOf'>, tenantId: string): Promise<KeyInventoryView> {
  const keys = await crypto.vault.listKeys({ tenantId });
  const own = crypto.masterKeyOf(tenantId);
  const current = currentBySeries(keys);
  const due = (k: DataKeyInfo) => current.get(k.subjectId)?._id === k._id && k.ageDays >= crypto.rotationDays;
  const tenantKeys = keys
    .filter((k) => k.scope === 'tenant')
    .sort((a, b) => b.version - a.version)
    .map((k) => ({
      id: k._id,
      version: k.version,
      status: k.status.toUpperCase() as TenantDataKeyView['status'],
      current: current.get(null)?._id === k._id,
      masterKeyId: k.masterKeyId,
      createdAt: k.createdAt,
      ageDays: k.ageDays,
      rotationDue: due(k),
    }));
  const subject = keys.filter((k) => k.scope === 'subject');
  const currentSubject = [...current.values()].filter((k) => k.scope === 'subject');
  return {
    rotationDays: crypto.rotationDays,
    tenantKeys,
    subjectKeys: {
      subjects: new Set(subject.map((k) => k.subjectId)).size,
      active: subject.filter((k) => k.status === 'active').length,
      retired: subject.filter((k) => k.status === 'retired').length,
      destroyed: subject.filter((k) => k.status === 'destroyed').length,
      rotationDue: currentSubject.filter(due).length,
      oldestCurrentAgeDays: currentSubject.length ? Math.max(...currentSubject.map((k) => k.ageDays)) : null,
      masterKeys: perMasterKey(subject),
    },
    masterKey: { id: own.masterKeyId, customerManaged: own.customerManaged, available: own.available },
  };
}

/** Adds `Query.keyInventory` over the process's key vault (stores.fieldCrypto). */
export function withKeyInventory(resolvers: GraphQLResolverMap<IdentityContext>, crypto: FieldCryptoRuntime | undefined): GraphQLResolverMap<IdentityContext> {
  return {
    ...resolvers,
    Query: {
      ...resolvers.Query,
      keyInventory: (_root: unknown, _args: unknown, ctx: IdentityContext) => {
        const tenantId = tenantOfCaller(ctx.principal);
        // Only a benchmark turns field encryption off; there is no key to show then.
        if (!crypto) throw new Error('field encryption is not configured in this process');
        return keyInventory(crypto, tenantId);
      },
    },
  } as GraphQLResolverMap<IdentityContext>;
}
