/**
 * Per-field costs of our schema until the SDL carries `@cost`/`@listSize`:
 * sizes of the lists that take no slicing argument (what the services
 * return at most, or typically), keyed by `Type.field`. Connections with
 * `first`/`after` need no entry: `first` (default 20) sizes their `edges`.
 */
import type { CostMap } from './cost';

export const DEFAULT_COSTS: CostMap = {
  // A shipment carries a handful of tags and scanners.
  'Shipment.devices': { listSize: { assumedSize: 5 } },
  'Shipment.parcels': { listSize: { assumedSize: 10 } },
  // The public tracking page lists every event of one shipment.
  'PublicTracking.events': { listSize: { assumedSize: 50 } },
  'Query.myActiveElevations': { listSize: { assumedSize: 5 } },
};

/** Size of a list nothing sizes (no slicing argument, no entry above). */
export const DEFAULT_LIST_SIZE = 10;
