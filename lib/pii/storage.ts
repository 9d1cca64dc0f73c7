/**
 * Where each subgraph stores the values of its `@pii` coordinates, and
 * whether each stored path is encrypted at rest and blind-indexed. This is
 * the declaration the PII map reads for `encryptedAtRest` / `blindIndexed`.
 *
 * A model with the encryption plugin (lib/crypto/model-encryption.ts) reads
 * its paths from here (`storedPiiPaths('shipment', 'shipments')`), so the
 * plugin and the inventory cannot disagree; a path says `encrypted: true`
 * only when its model encrypts it (test/pii/storage-encrypted.test.ts reads
 * the stored documents to prove it). test/pii/schema-pii.test.ts keeps the
 * list of unencrypted coordinates exact, so it can only shrink.
 */
import type { SubgraphName } from '../../schema';

/** One stored path holding personal data. */
export interface StoredPiiPath {
  readonly subgraph: SubgraphName;
  /** MongoDB collection. */
  readonly collection: string;
  /** Dotted path in the document, e.g. `recipient.email`. */
  readonly path: string;
  /** Schema coordinates whose values end up here (`Type.field`, `Input.field`, `Type.field(arg)`). */
  readonly holds: readonly string[];
  /** The value is stored encrypted (lib/crypto): an envelope of its own, or inside its document's envelope (shipments); never in clear. */
  readonly encrypted: boolean;
  /** A blind index beside it allows equality search without decrypting. */
  readonly blindIndexed: boolean;
}

type PathDeclaration = { holds: readonly string[]; encrypted?: boolean; blindIndexed?: boolean };

function declare(subgraph: SubgraphName, collection: string, paths: Record<string, PathDeclaration>): StoredPiiPath[] {
  return Object.entries(paths).map(([path, d]) => ({
    subgraph,
    collection,
    path,
    holds: d.holds,
    encrypted: d.encrypted ?? false,
    blindIndexed: d.blindIndexed ?? false,
  }));
}

/** subgraphs/shipment/model.ts: `shipments` and `tracking_events`. */
const SHIPMENT: readonly StoredPiiPath[] = [
  ...declare('shipment', 'shipments', {
    'recipient.name': { holds: ['Contact.name', 'ContactInput.name'], encrypted: true },
    'recipient.phone': { holds: ['Contact.phone', 'ContactInput.phone'], encrypted: true, blindIndexed: true },
    'recipient.email': { holds: ['Contact.email', 'ContactInput.email'], encrypted: true, blindIndexed: true },
    'origin.line1': { holds: ['Address.line1', 'AddressInput.line1'], encrypted: true },
    'origin.line2': { holds: ['Address.line2', 'AddressInput.line2'], encrypted: true },
    'origin.postalCode': { holds: ['Address.postalCode', 'AddressInput.postalCode'], encrypted: true },
    'destination.line1': { holds: ['Address.line1', 'AddressInput.line1'], encrypted: true },
    'destination.line2': { holds: ['Address.line2', 'AddressInput.line2'], encrypted: true },
    'destination.postalCode': { holds: ['Address.postalCode', 'AddressInput.postalCode'], encrypted: true },
    deliveryNotes: { holds: ['Shipment.deliveryNotes', 'CreateShipmentInput.deliveryNotes', 'UpdateShipmentDetailsInput.deliveryNotes'], encrypted: true },
    'proofOfDelivery.signerName': { holds: ['ProofOfDelivery.signerName', 'ProofOfDeliveryInput.signerName'], encrypted: true },
    'proofOfDelivery.signatureRef': { holds: ['ProofOfDelivery.signatureRef', 'ProofOfDeliveryInput.signatureRef'], encrypted: true },
    'proofOfDelivery.photoRefs': { holds: ['ProofOfDelivery.photoRefs', 'ProofOfDeliveryInput.photoRefs'], encrypted: true },
    'proofOfDelivery.geo': { holds: ['ProofOfDelivery.geo', 'ProofOfDeliveryInput.geo'], encrypted: true },
  }),
  ...declare('shipment', 'tracking_events', {
    'location.postalCode': { holds: ['EventLocation.postalCode', 'EventLocationInput.postalCode'], encrypted: true },
    coordinates: { holds: ['TrackingEvent.coordinates', 'RecordTrackingEventInput.coordinates'], encrypted: true },
  }),
];

/** subgraphs/identity/model.ts (`users`) and elevation/model.ts (`elevations`). */
const IDENTITY: readonly StoredPiiPath[] = [
  ...declare('identity', 'users', {
    email: { holds: ['User.email', 'CreateUserInput.email'], encrypted: true, blindIndexed: true },
    name: { holds: ['User.name', 'CreateUserInput.name'], encrypted: true },
  }),
  ...declare('identity', 'elevations', {
    reason: { holds: ['Elevation.reason', 'RequestElevationInput.reason'], encrypted: true },
    denialReason: { holds: ['Elevation.denialReason', 'Mutation.denyElevation(reason)'], encrypted: true },
  }),
];

/** subgraphs/privacy/model.ts: `privacy_settings`. */
const PRIVACY: readonly StoredPiiPath[] = declare('privacy', 'privacy_settings', {
  notificationChannels: { holds: ['PrivacySettings.notificationChannels', 'PrivacySettingsInput.notificationChannels'], encrypted: true },
  dataSharing: { holds: ['PrivacySettings.dataSharing', 'PrivacySettingsInput.dataSharing'], encrypted: true },
});

/** Every declared stored path, by subgraph. The device subgraph stores no personal data. */
export const PII_STORAGE: Readonly<Record<SubgraphName, readonly StoredPiiPath[]>> = {
  shipment: SHIPMENT,
  device: [],
  identity: IDENTITY,
  privacy: PRIVACY,
};

/** The stored paths of `subgraph` (optionally of one collection): what its model encrypts and indexes. */
export function storedPiiPaths(subgraph: SubgraphName, collection?: string): readonly StoredPiiPath[] {
  return PII_STORAGE[subgraph].filter((p) => collection === undefined || p.collection === collection);
}

/** The stored paths holding the values of `coordinate` in `subgraph`. */
export function storageOf(subgraph: SubgraphName, coordinate: string): readonly StoredPiiPath[] {
  return PII_STORAGE[subgraph].filter((p) => p.holds.includes(coordinate));
}
