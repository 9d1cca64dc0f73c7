/**
 * `revealShipment`: the audited reveal of a shipment's personal data, which
 * every other path shows masked (lib/pii/masking.ts). The capability check,
 * the reason, the audit record and the marks are lib/reveal.ts's; this file
 * loads the shipment in the caller's scope (another tenant's is NOT_FOUND,
 * as an unknown id) and marks the copies it hands out: the shipment, its
 * recipient, origin, destination and proof of delivery; the events of a
 * revealed shipment are marked as they are resolved (`revealedEvents`).
 */
import type { RequestContext } from '../../lib/context';
import { markRevealed, revealedClassesOf } from '../../lib/pii';
import { authorizeReveal, recordReveal, revealReason, revealedRecord, type RevealReceipt } from '../../lib/reveal';
import { ShipmentNotFoundError } from './errors';
import type { ShipmentLoaders } from './loaders';
import type { Clock, Shipment, TrackingEvent } from './records';

export interface RevealShipmentArgs {
  id: string;
  reason: string;
  sensitive?: boolean | null;
}

export type ShipmentReveal = RevealReceipt & { shipment: Shipment };

/**
 * @throws RevealNotPermittedError (FORBIDDEN) without the capability
 * @throws ElevationRequiredError (ELEVATION_REQUIRED) for `sensitive` without an active elevation
 * @throws InvalidInputError (BAD_USER_INPUT) for an empty reason
 * @throws ShipmentNotFoundError (NOT_FOUND) outside the caller's scope
 * @throws whatever the audit sink throws: nothing is revealed then
 */
export async function revealShipment(ctx: RequestContext<ShipmentLoaders>, args: RevealShipmentArgs, now: Clock = () => new Date()): Promise<ShipmentReveal> {
  const grant = authorizeReveal(ctx.principal, 'shipment', args.sensitive === true);
  const reason = revealReason(args.reason);
  const shipment = await ctx.loaders.shipmentById.load(args.id);
  if (!shipment) throw new ShipmentNotFoundError();
  const receipt = await recordReveal(ctx, grant, `Shipment:${shipment.id}`, reason, now());
  const revealed = revealedRecord(
    {
      ...shipment,
      recipient: revealedRecord(shipment.recipient, grant),
      origin: revealedRecord(shipment.origin, grant),
      destination: revealedRecord(shipment.destination, grant),
      proofOfDelivery: revealedRecord(shipment.proofOfDelivery, grant),
    } as Shipment,
    grant,
  )!;
  return { ...receipt, shipment: revealed };
}

/**
 * The events of `shipment`, marked (copies, with their locations) for the
 * classes the shipment was revealed for; the events themselves when it was
 * not revealed — the usual case, which costs one property read.
 */
export function revealedEvents(shipment: Shipment, events: TrackingEvent[]): TrackingEvent[] {
  const classes = revealedClassesOf(shipment);
  if (classes.length === 0) return events;
  return events.map((e) => markRevealed({ ...e, location: e.location ? markRevealed(e.location, classes) : e.location }, classes));
}
