/**
 * The ABAC attributes a principal takes from its record (user or API
 * client) into its token: the data regions it is restricted to and the data
 * tags it is cleared for (lib/context.ts, docs/abac.md). A record without a
 * region list is not restricted by region; a record without clearances is
 * cleared for nothing. Unknown stored values are dropped, never widened.
 */
import { dataTagList, regionList, type TenantPrincipal } from '../../../lib/context';

export function abacAttributesOf(record: { dataRegions?: readonly string[] | null; clearances?: readonly string[] | null }): Pick<TenantPrincipal, 'dataRegions' | 'clearances'> {
  return {
    ...(record.dataRegions !== undefined && record.dataRegions !== null ? { dataRegions: regionList(record.dataRegions) } : {}),
    clearances: dataTagList(record.clearances ?? []),
  };
}
