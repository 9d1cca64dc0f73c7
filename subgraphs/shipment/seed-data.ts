/**
 * The demo shipments, their tracking events and tracking-number claims,
 * generated from the demo plan: pure and deterministic (same plan and
 * anchor, same documents). Every person is obviously made up
 * (`Demo Recipient 07`, `@example.com`, `+1555…`). Statuses come from
 * folding the events through the status machine, so the seed obeys the
 * same rules as live traffic (one delivered shipment carries a late scan
 * that is stored but never moved its status).
 */
import { demoId, type DemoPlan, type DemoShipment } from '../../lib/demo';
import { claimKey, type ParcelDoc, type ProofOfDeliveryDoc, type ShipmentDoc, type TrackingEventDoc, type TrackingNumberClaimDoc } from './model';
import { replay, type ShipmentStatus } from './status';
import { demoTrackingToken, hashTrackingToken } from './tokens';
import { eventFingerprint, POD_RETENTION_DAYS, type NormalisedEvent, type NormalisedProof } from './tracking';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

type City = { city: string; region: string; countryIso3: string; lat: number; lon: number; postal: string };

const CITIES: Record<'EU' | 'US' | 'APAC', City[]> = {
  EU: [
    { city: 'Amsterdam', region: 'North Holland', countryIso3: 'NLD', lat: 52.37, lon: 4.9, postal: '1011' },
    { city: 'Rotterdam', region: 'South Holland', countryIso3: 'NLD', lat: 51.92, lon: 4.48, postal: '3011' },
    { city: 'Frankfurt', region: 'Hesse', countryIso3: 'DEU', lat: 50.11, lon: 8.68, postal: '60311' },
    { city: 'Cologne', region: 'North Rhine-Westphalia', countryIso3: 'DEU', lat: 50.94, lon: 6.96, postal: '50667' },
    { city: 'Paris', region: 'Ile-de-France', countryIso3: 'FRA', lat: 48.86, lon: 2.35, postal: '75001' },
    { city: 'Lyon', region: 'Auvergne-Rhone-Alpes', countryIso3: 'FRA', lat: 45.76, lon: 4.84, postal: '69001' },
    { city: 'Milan', region: 'Lombardy', countryIso3: 'ITA', lat: 45.46, lon: 9.19, postal: '20121' },
    { city: 'Madrid', region: 'Community of Madrid', countryIso3: 'ESP', lat: 40.42, lon: -3.7, postal: '28001' },
  ],
  US: [
    { city: 'Los Angeles', region: 'CA', countryIso3: 'USA', lat: 34.05, lon: -118.24, postal: '90001' },
    { city: 'Memphis', region: 'TN', countryIso3: 'USA', lat: 35.15, lon: -90.05, postal: '38103' },
    { city: 'Louisville', region: 'KY', countryIso3: 'USA', lat: 38.25, lon: -85.76, postal: '40202' },
    { city: 'Chicago', region: 'IL', countryIso3: 'USA', lat: 41.88, lon: -87.63, postal: '60601' },
    { city: 'Dallas', region: 'TX', countryIso3: 'USA', lat: 32.78, lon: -96.8, postal: '75201' },
    { city: 'Newark', region: 'NJ', countryIso3: 'USA', lat: 40.74, lon: -74.17, postal: '07102' },
    { city: 'Seattle', region: 'WA', countryIso3: 'USA', lat: 47.61, lon: -122.33, postal: '98101' },
    { city: 'Atlanta', region: 'GA', countryIso3: 'USA', lat: 33.75, lon: -84.39, postal: '30303' },
  ],
  APAC: [
    { city: 'Singapore', region: 'Singapore', countryIso3: 'SGP', lat: 1.29, lon: 103.85, postal: '018956' },
    { city: 'Sydney', region: 'NSW', countryIso3: 'AUS', lat: -33.87, lon: 151.21, postal: '2000' },
    { city: 'Tokyo', region: 'Tokyo', countryIso3: 'JPN', lat: 35.68, lon: 139.69, postal: '100-0001' },
  ],
};

/** Where cross-border shipments go from each region. */
const ABROAD: Record<'EU' | 'US' | 'APAC', City> = {
  EU: { city: 'Zurich', region: 'ZH', countryIso3: 'CHE', lat: 47.37, lon: 8.54, postal: '8001' },
  US: { city: 'Toronto', region: 'ON', countryIso3: 'CAN', lat: 43.65, lon: -79.38, postal: 'M5H' },
  APAC: { city: 'Auckland', region: 'Auckland', countryIso3: 'NZL', lat: -36.85, lon: 174.76, postal: '1010' },
};

/** One step of a scenario: the status an event reports, and its wording. */
interface Step {
  status: ShipmentStatus;
  message: string;
  code: string;
  bizStep?: string;
  disposition?: string;
  subStatus?: { code: string; text: string; actionRequired: boolean };
}

const LABEL: Step = { status: 'LABEL_CREATED', message: 'Shipping label created', code: 'PU', bizStep: 'commissioning', disposition: 'active' };
const DEPARTED: Step = { status: 'IN_TRANSIT', message: 'Departed facility', code: 'DP', bizStep: 'departing', disposition: 'in_transit' };
const ARRIVED: Step = { status: 'IN_TRANSIT', message: 'Arrived at sort facility', code: 'AR', bizStep: 'arriving', disposition: 'in_progress' };
const PROCESSED: Step = { status: 'IN_TRANSIT', message: 'Processed at hub', code: 'PR', bizStep: 'transporting', disposition: 'in_transit' };
const OUT: Step = { status: 'OUT_FOR_DELIVERY', message: 'Out for delivery', code: 'OD', bizStep: 'transporting', disposition: 'in_transit' };
const DELIVERED: Step = { status: 'DELIVERED', message: 'Delivered', code: 'DL', bizStep: 'receiving', disposition: 'completeness_verified' };
const FAILED: Step = {
  status: 'ATTEMPT_FAILED',
  message: 'Delivery attempted: recipient not available',
  code: 'NA',
  subStatus: { code: 'recipient_unavailable', text: 'Recipient not at home', actionRequired: false },
};
const PICKUP: Step = { status: 'AVAILABLE_FOR_PICKUP', message: 'Available for pickup at service point', code: 'PK', bizStep: 'holding', disposition: 'sellable_accessible' };
const CUSTOMS: Step = {
  status: 'EXCEPTION',
  message: 'Held by customs: import duties unpaid',
  code: 'CH',
  subStatus: { code: 'customs_hold', text: 'Import duties must be paid before delivery', actionRequired: true },
};
const RETURNING: Step = { status: 'RETURN_TO_SENDER', message: 'Returning to sender after failed delivery attempts', code: 'RS' };

/** Journeys, 3 to 8 events each; shipment i of a tenant follows SCENARIOS[i % 8]. */
const SCENARIOS: Step[][] = [
  [LABEL, DEPARTED, ARRIVED, PROCESSED],
  [LABEL, DEPARTED, ARRIVED, OUT, DELIVERED],
  [LABEL, DEPARTED, ARRIVED, OUT],
  [LABEL, DEPARTED, OUT, FAILED, OUT, DELIVERED],
  [LABEL, DEPARTED, ARRIVED, CUSTOMS],
  [LABEL, DEPARTED, OUT, PICKUP],
  [LABEL, DEPARTED, ARRIVED, OUT, FAILED, OUT, FAILED, RETURNING],
  [LABEL, DEPARTED, ARRIVED],
];
/** Scenario whose shipments also get a scan that arrives after delivery but happened before it. */
const LATE_SCAN_SCENARIO = 1;

const SERVICE_LEVELS = ['EXPRESS', 'STANDARD', 'GROUND', 'PRIORITY'];

export interface DemoShipmentData {
  shipments: ShipmentDoc[];
  events: TrackingEventDoc[];
  claims: TrackingNumberClaimDoc[];
}

/** Today's UTC midnight: the default anchor, so the demo looks current while staying stable for a day. */
export function defaultSeedAnchor(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** An 18-digit GS1 SSCC with its check digit. */
function sscc(serial: number): string {
  const body = `0${'7612345'}${pad(serial, 9)}`;
  const sum = [...body].reverse().reduce((acc, d, i) => acc + Number(d) * (i % 2 === 0 ? 3 : 1), 0);
  return `${body}${(10 - (sum % 10)) % 10}`;
}

function parcelsFor(n: number, coldChain: boolean): ParcelDoc[] {
  return Array.from({ length: 1 + (n % 3) }, (_, p) => ({
    barcode: sscc(n * 10 + p),
    weightGrams: 400 + ((n * 137 + p * 311) % 4600),
    dimensions: { lengthMm: 200 + ((n * 13) % 300), widthMm: 150 + ((n * 7) % 200), heightMm: 100 + ((n * 11 + p * 5) % 150) },
    temperatureProfile: coldChain ? { min: 2, max: 8, unit: 'CEL' as const } : null,
  }));
}

/** Documents for shipment number `i` (within its tenant) of the plan. */
function shipmentData(plan: DemoPlan, s: DemoShipment, i: number, n: number, anchor: Date): DemoShipmentData {
  const cities = CITIES[s.region];
  const coldChain = i % 3 === 0;
  const crossBorder = i % 4 === 2;
  const originCity = cities[i % cities.length];
  const destCity = crossBorder ? ABROAD[s.region] : cities[(i + 3) % cities.length];
  const hubCity = cities[(i + 1) % cities.length];
  const createdAt = new Date(anchor.getTime() - (7 + (i % 21)) * DAY + (n % 60) * 60_000 + i * 37 * 60_000);
  const originalEta = new Date(createdAt.getTime() + 4 * DAY);
  const scenario = SCENARIOS[i % SCENARIOS.length];
  const scanner = plan.devices.find((d) => d.tenantId === s.tenantId && d.kind === 'SCANNER');
  const parcels = parcelsFor(n, coldChain);
  const delayed = i % SCENARIOS.length === 4 || i % SCENARIOS.length === 6;
  const eta = delayed ? new Date(originalEta.getTime() + DAY) : originalEta;

  // Event times: 2 h after creation, then 6 to 18 h apart (at most 8 events: within the week before the anchor).
  let t = createdAt.getTime() + 2 * HOUR;
  const steps = scenario.map((step, j) => {
    if (j > 0) t += (6 + ((i * 7 + j * 5) % 13)) * HOUR;
    return { step, occurredAt: new Date(t), recordedAt: new Date(t + (2 + j) * 60_000) };
  });
  if (i % SCENARIOS.length === LATE_SCAN_SCENARIO) {
    // An offline scanner syncs a hub scan hours after the delivery it preceded.
    const before = steps[2].occurredAt.getTime() + 2 * HOUR;
    steps.push({ step: PROCESSED, occurredAt: new Date(before), recordedAt: new Date(steps[steps.length - 1].recordedAt.getTime() + 3 * HOUR) });
  }
  const arrival = [...steps].sort((a, b) => a.recordedAt.getTime() - b.recordedAt.getTime());
  const { state, applied } = replay(arrival.map((a) => ({ status: a.step.status, occurredAt: a.occurredAt })));

  let proofOfDelivery: ProofOfDeliveryDoc | null = null;
  let statusDetail: string | null = null;
  const events = arrival.map((a, j): TrackingEventDoc => {
    const { step } = a;
    const atDoor = step.status === 'OUT_FOR_DELIVERY' || step.status === 'DELIVERED' || step.status === 'ATTEMPT_FAILED';
    const place = atDoor ? destCity : j === 0 ? originCity : step === ARRIVED || step === PROCESSED ? hubCity : originCity;
    const fields: NormalisedEvent = {
      occurredAt: a.occurredAt,
      utcOffsetMinutes: { EU: 60, US: -300, APAC: 480 }[s.region],
      status: step.status,
      subStatus: step.subStatus ?? null,
      rawCarrierCode: `${s.carrier}-${step.code}`,
      message: step.message,
      bizStep: step.bizStep ?? null,
      disposition: step.disposition ?? null,
      location: { city: place.city, region: place.region, postalCode: atDoor ? place.postal : null, countryIso3: place.countryIso3, readPoint: null },
      coordinates: atDoor ? { latitude: place.lat, longitude: place.lon, accuracyMeters: 25 } : null,
      eta: j === 1 ? eta : null,
    };
    let proof: NormalisedProof | null = null;
    if (step.status === 'DELIVERED' || step.status === 'ATTEMPT_FAILED') {
      const ok = step.status === 'DELIVERED';
      proof = {
        outcome: ok ? 'SUCCEEDED' : 'FAILED',
        failureReason: ok ? null : 'RECIPIENT_ABSENT',
        signerName: ok ? `Demo Signer ${pad(n, 2)}` : null,
        signerRelationship: ok ? (i % 2 ? 'NEIGHBOUR' : 'RECIPIENT') : null,
        signatureRef: ok ? `demo://signatures/${s.id}-${j}.png` : null,
        photoRefs: [`demo://photos/${s.id}-${j}.jpg`],
        scannedBarcodes: ok ? parcels.map((p) => p.barcode) : [],
        pinVerified: ok && coldChain,
        geo: { latitude: place.lat, longitude: place.lon, accuracyMeters: 15 },
        capturedAt: a.occurredAt,
      };
    }
    const id = demoId(`event:${s.id}`, j);
    if (proof && (!proofOfDelivery || proof.capturedAt >= proofOfDelivery.capturedAt)) {
      proofOfDelivery = { ...proof, deviceId: scanner?.id ?? null, retainUntil: new Date(proof.capturedAt.getTime() + POD_RETENTION_DAYS * DAY), eventId: id };
    }
    if (applied[j]) statusDetail = step.message;
    return {
      _id: id,
      tenantId: s.tenantId,
      shipmentId: s.id,
      recipientSubjectId: s.recipientSubjectId,
      clientEventId: `seed-${s.id}-${j}`,
      fingerprint: eventFingerprint(fields, proof),
      ...fields,
      recordedAt: a.recordedAt,
      source: atDoor ? 'DRIVER_SCAN' : 'CARRIER',
      reportedBy: 'system:seed',
      statusApplied: applied[j],
      processed: true,
    };
  });

  const shipment: ShipmentDoc = {
    _id: s.id,
    tenantId: s.tenantId,
    region: s.region,
    carrier: s.carrier,
    trackingNumber: s.trackingNumber,
    serviceLevel: coldChain ? 'EXPRESS' : SERVICE_LEVELS[i % SERVICE_LEVELS.length],
    status: state.status,
    statusDetail,
    progressRank: state.progressRank,
    lastAppliedAt: state.lastAppliedAt,
    eta,
    originalEta,
    isReturn: i % 10 === 9,
    origin: { line1: `${1 + (i % 9)} Demo Warehouse Way`, line2: null, city: originCity.city, region: originCity.region, postalCode: originCity.postal, countryIso3: originCity.countryIso3 },
    destination: { line1: `${10 + i} Example Street`, line2: i % 5 === 0 ? `Flat ${1 + (i % 4)}` : null, city: destCity.city, region: destCity.region, postalCode: destCity.postal, countryIso3: destCity.countryIso3 },
    recipient: { name: `Demo Recipient ${pad(n, 2)}`, phone: `+1555010${pad(n % 10000, 4)}`, email: `recipient${pad(n, 2)}@example.com` },
    deliveryNotes: i % 4 === 0 ? 'Leave with reception (demo note)' : i % 4 === 1 ? 'Door code 0000 (demo)' : null,
    customs: crossBorder
      ? { hsCode: coldChain ? '300490' : '611020', declaredValue: 2500 + ((n * 997) % 50000), currency: s.region === 'US' ? 'USD' : 'EUR', countryOfOrigin: originCity.countryIso3 }
      : null,
    parcels,
    recipientSubjectId: s.recipientSubjectId,
    publicTokenHash: hashTrackingToken(demoTrackingToken(s.id)),
    proofOfDelivery,
    rev: events.length,
    createdAt,
    updatedAt: arrival[arrival.length - 1].recordedAt,
  };
  const claim: TrackingNumberClaimDoc = { _id: claimKey(s.tenantId, s.carrier, s.trackingNumber), tenantId: s.tenantId, carrier: s.carrier, trackingNumber: s.trackingNumber, shipmentId: s.id, claimedAt: createdAt };
  return { shipments: [shipment], events, claims: [claim] };
}

/** Every demo shipment of `plan` with its events and claims, times relative to `anchor`. */
export function demoShipmentData(plan: DemoPlan, anchor: Date): DemoShipmentData {
  const out: DemoShipmentData = { shipments: [], events: [], claims: [] };
  plan.shipments.forEach((s, n) => {
    const i = plan.shipments.filter((x, k) => k < n && x.tenantId === s.tenantId).length;
    const d = shipmentData(plan, s, i, n, anchor);
    out.shipments.push(...d.shipments);
    out.events.push(...d.events);
    out.claims.push(...d.claims);
  });
  return out;
}
