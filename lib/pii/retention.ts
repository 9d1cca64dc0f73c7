/**
 * Retention of personal data by data class, from ../shared/DOMAIN.md
 * ("Retention defaults", configurable per region). A class DOMAIN.md does not
 * name is `unset`: the inventory shows it as a decision still to make rather
 * than inventing a period.
 */
import type { PiiCoordinate } from './sdl';

/** The retention classes. */
export type RetentionKey = 'pod-images' | 'raw-gps' | 'shipment-record' | 'unset';

export interface Retention {
  readonly key: RetentionKey;
  /** ISO 8601 duration, or null when the period is set elsewhere (a contract) or not at all. */
  readonly period: string | null;
  /** What the default says, for people. */
  readonly text: string;
}

/** The defaults of DOMAIN.md, by class. */
export const RETENTION: Readonly<Record<RetentionKey, Retention>> = {
  'pod-images': { key: 'pod-images', period: 'P30D', text: 'about 30 days (proof-of-delivery images)' },
  'raw-gps': { key: 'raw-gps', period: 'P2M', text: 'at most 2 months (raw GPS)' },
  'shipment-record': { key: 'shipment-record', period: null, text: 'per tenant contract (shipments and tracking events)' },
  unset: { key: 'unset', period: null, text: 'no default in DOMAIN.md: to be decided' },
};

/** Precise positions: raw GPS wherever they sit. */
const GPS_TYPES = new Set(['GeoPoint', 'GeoPointInput']);
/** References to proof-of-delivery images. */
const POD_IMAGES = new Set(['ProofOfDelivery.signatureRef', 'ProofOfDelivery.photoRefs', 'ProofOfDeliveryInput.signatureRef', 'ProofOfDeliveryInput.photoRefs']);
/** Parts of a shipment or its tracking events (and the inputs that write them). */
const SHIPMENT_RECORD_TYPES = new Set([
  'Shipment',
  'Address',
  'Contact',
  'TrackingEvent',
  'EventLocation',
  'ProofOfDelivery',
  'CreateShipmentInput',
  'UpdateShipmentDetailsInput',
  'AddressInput',
  'ContactInput',
  'RecordTrackingEventInput',
  'EventLocationInput',
  'ProofOfDeliveryInput',
]);

/** The retention class of a `@pii` coordinate. */
export function retentionOf(pii: Pick<PiiCoordinate, 'coordinate' | 'typeName' | 'fieldName' | 'valueType'>): Retention {
  if (GPS_TYPES.has(pii.valueType)) return RETENTION['raw-gps'];
  if (POD_IMAGES.has(`${pii.typeName}.${pii.fieldName}`)) return RETENTION['pod-images'];
  if (SHIPMENT_RECORD_TYPES.has(pii.typeName)) return RETENTION['shipment-record'];
  return RETENTION.unset;
}
