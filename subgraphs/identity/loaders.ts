/**
 * Per-request DataLoaders: every entity hop and `__resolveReference` goes
 * through them, so N references cost one `$in` query per entity type. The
 * scope is baked in: a loader never returns another tenant's entity, it
 * returns null for it, exactly as for an unknown id.
 */
import DataLoader from 'dataloader';
import type { DataScope } from '../../lib/context';
import type { IdentityModels } from './model';
import { IdentityService, type Tenant, type User } from './service';

export interface IdentityLoaders {
  tenantById: DataLoader<string, Tenant | null>;
  userById: DataLoader<string, User | null>;
}

/** Orders `found` by `keys`, null where a key matched nothing (or nothing in scope). */
function byKeys<T extends { id: string }>(keys: readonly string[], found: T[]): Array<T | null> {
  const map = new Map(found.map((item) => [item.id, item]));
  return keys.map((k) => map.get(k) ?? null);
}

/** Fresh loaders for one request; call once per request with that request's scope. */
export function createLoaders(models: IdentityModels, scope: DataScope): IdentityLoaders {
  const service = new IdentityService(models);
  return {
    tenantById: new DataLoader(async (ids) => byKeys(ids, await service.tenantsByIds(scope, ids))),
    userById: new DataLoader(async (ids) => byKeys(ids, await service.usersByIds(scope, ids))),
  };
}
