/**
 * The shipment status machine: which tracking event may move a shipment's
 * unified status, and to what. Pure: no I/O, no clock; the service and the
 * seed both fold events through `decide`.
 *
 * Rules (DOMAIN.md "Unified tracking status"):
 * - Normal statuses move forward by rank:
 *   PENDING < LABEL_CREATED < IN_TRANSIT
 *   < OUT_FOR_DELIVERY = AVAILABLE_FOR_PICKUP = ATTEMPT_FAILED < DELIVERED.
 *   An event of the same rank as the furthest one reached applies too (a
 *   second IN_TRANSIT scan refreshes the detail; OUT_FOR_DELIVERY →
 *   ATTEMPT_FAILED → OUT_FOR_DELIVERY is a second delivery attempt).
 * - EXCEPTION, RETURN_TO_SENDER and CANCELLED are explicit exceptions: they
 *   apply from any non-final status and leave the furthest rank reached
 *   unchanged, so a shipment leaving EXCEPTION can only resume at or beyond
 *   where it was.
 * - DELIVERED and CANCELLED are final, except RETURN_TO_SENDER after
 *   DELIVERED (a refused or returned delivery).
 * - An event older than the latest applied event never moves the status.
 */

export const SHIPMENT_STATUSES = [
  'PENDING',
  'LABEL_CREATED',
  'IN_TRANSIT',
  'OUT_FOR_DELIVERY',
  'AVAILABLE_FOR_PICKUP',
  'ATTEMPT_FAILED',
  'DELIVERED',
  'RETURN_TO_SENDER',
  'EXCEPTION',
  'CANCELLED',
] as const;

export type ShipmentStatus = (typeof SHIPMENT_STATUSES)[number];

/** Statuses that apply from any non-final status, outside the forward ranking. */
export const EXCEPTIONAL_STATUSES: ReadonlySet<ShipmentStatus> = new Set(['EXCEPTION', 'RETURN_TO_SENDER', 'CANCELLED']);

/** Statuses nothing moves on from (except RETURN_TO_SENDER after DELIVERED). */
export const FINAL_STATUSES: ReadonlySet<ShipmentStatus> = new Set(['DELIVERED', 'CANCELLED']);

const RANKS: Partial<Record<ShipmentStatus, number>> = {
  PENDING: 0,
  LABEL_CREATED: 1,
  IN_TRANSIT: 2,
  OUT_FOR_DELIVERY: 3,
  AVAILABLE_FOR_PICKUP: 3,
  ATTEMPT_FAILED: 3,
  DELIVERED: 4,
};

/** Forward rank of a normal status; undefined for the exceptional ones. */
export function rankOf(status: ShipmentStatus): number | undefined {
  return RANKS[status];
}

export function isShipmentStatus(value: unknown): value is ShipmentStatus {
  return typeof value === 'string' && (SHIPMENT_STATUSES as readonly string[]).includes(value);
}

/** What the machine remembers about a shipment. */
export interface StatusState {
  status: ShipmentStatus;
  /** Highest forward rank the shipment has reached (0 for a new shipment). */
  progressRank: number;
  /** `occurredAt` of the latest event that moved the status; null before the first. */
  lastAppliedAt: Date | null;
}

/** The part of a tracking event the machine looks at. */
export interface StatusEvent {
  status: ShipmentStatus;
  occurredAt: Date;
}

export type NotAppliedReason =
  /** Older than the latest applied event. */
  | 'LATE'
  /** The shipment is DELIVERED or CANCELLED. */
  | 'FINAL'
  /** A lower rank than the shipment has already reached. */
  | 'BACKWARD';

export type StatusDecision = { applied: true; next: StatusState } | { applied: false; reason: NotAppliedReason };

/** The initial state of a new shipment. */
export function initialState(status: ShipmentStatus = 'PENDING'): StatusState {
  return { status, progressRank: rankOf(status) ?? 0, lastAppliedAt: null };
}

/** Whether `event` moves a shipment in `state`, and the state after it. */
export function decide(state: StatusState, event: StatusEvent): StatusDecision {
  if (state.lastAppliedAt && event.occurredAt.getTime() < state.lastAppliedAt.getTime()) return { applied: false, reason: 'LATE' };
  if (FINAL_STATUSES.has(state.status)) {
    const returnAfterDelivery = state.status === 'DELIVERED' && event.status === 'RETURN_TO_SENDER';
    if (!returnAfterDelivery) return { applied: false, reason: 'FINAL' };
  }
  if (EXCEPTIONAL_STATUSES.has(event.status)) {
    return { applied: true, next: { status: event.status, progressRank: state.progressRank, lastAppliedAt: event.occurredAt } };
  }
  const rank = rankOf(event.status)!;
  if (rank < state.progressRank) return { applied: false, reason: 'BACKWARD' };
  return { applied: true, next: { status: event.status, progressRank: rank, lastAppliedAt: event.occurredAt } };
}

/** Folds events in arrival order; returns the final state and which events applied. */
export function replay(events: readonly StatusEvent[], start: StatusState = initialState()): { state: StatusState; applied: boolean[] } {
  let state = start;
  const applied = events.map((event) => {
    const d = decide(state, event);
    if (d.applied) state = d.next;
    return d.applied;
  });
  return { state, applied };
}
