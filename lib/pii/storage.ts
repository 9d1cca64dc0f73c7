/**
 * Where each subgraph stores the values of its `@pii` coordinates, and
 * whether each stored path is encrypted at rest and blind-indexed. This is
 * the declaration the PII map reads for `encryptedAtRest` / `blindIndexed`.
 *
 * Today's values are the truth: field encryption (lib/crypto) is not wired
 * into any model yet, so every path says `encrypted: false`. When a model
 * gets the encryption plugin, it reads its paths from here
 * (`storedPiiPaths('shipment', 'shipments')`) and the path flips to
 * `encrypted: true` in the same change — the plugin and the inventory then
 * cannot disagree. test/pii/schema-pii.test.ts keeps the list of unencrypted
 * coordinates exact, so it can only shrink.
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
  /** The value is stored as a field-level envelope (lib/crypto), never in clear. */
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
    'recipient.name': { holds: ['Contact.name', 'ContactInput.name'] },
    'recipient.phone': { holds: ['Contact.phone', 'ContactInput.phone'] },
    'recipient.email': { holds: ['Contact.email', 'ContactInput.email'] },
    'origin.line1': { holds: ['Address.line1', 'AddressInput.line1'] },
    'origin.line2': { holds: ['Address.line2', 'AddressInput.line2'] },
    'origin.postalCode': { holds: ['Address.postalCode', 'AddressInput.postalCode'] },
    'destination.line1': { holds: ['Address.line1', 'AddressInput.line1'] },
    'destination.line2': { holds: ['Address.line2', 'AddressInput.line2'] },
    'destination.postalCode': { holds: ['Address.postalCode', 'AddressInput.postalCode'] },
    deliveryNotes: { holds: ['Shipment.deliveryNotes', 'CreateShipmentInput.deliveryNotes', 'UpdateShipmentDetailsInput.deliveryNotes'] },
    'proofOfDelivery.signerName': { holds: ['ProofOfDelivery.signerName', 'ProofOfDeliveryInput.signerName'] },
    'proofOfDelivery.signatureRef': { holds: ['ProofOfDelivery.signatureRef', 'ProofOfDeliveryInput.signatureRef'] },
    'proofOfDelivery.photoRefs': { holds: ['ProofOfDelivery.photoRefs', 'ProofOfDeliveryInput.photoRefs'] },
    'proofOfDelivery.geo': { holds: ['ProofOfDelivery.geo', 'ProofOfDeliveryInput.geo'] },
  }),
  ...declare('shipment', 'tracking_events', {
    'location.postalCode': { holds: ['EventLocation.postalCode', 'EventLocationInput.postalCode'] },
    coordinates: { holds: ['TrackingEvent.coordinates', 'RecordTrackingEventInput.coordinates'] },
  }),
];

/** subgraphs/identity/model.ts (`users`) and elevation/model.ts (`elevations`). */
const IDENTITY: readonly StoredPiiPath[] = [
  ...declare('identity', 'users', {
    email: { holds: ['User.email', 'CreateUserInput.email'] },
    name: { holds: ['User.name', 'CreateUserInput.name'] },
  }),
  ...declare('identity', 'elevations', {
    reason: { holds: ['Elevation.reason', 'RequestElevationInput.reason'] },
    denialReason: { holds: ['Elevation.denialReason', 'Mutation.denyElevation(reason)'] },
  }),
];

/** subgraphs/privacy/model.ts: `privacy_settings`. */
const PRIVACY: readonly StoredPiiPath[] = declare('privacy', 'privacy_settings', {
  notificationChannels: { holds: ['PrivacySettings.notificationChannels', 'PrivacySettingsInput.notificationChannels'] },
  dataSharing: { holds: ['PrivacySettings.dataSharing', 'PrivacySettingsInput.dataSharing'] },
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
