/**
 * Input checks and normalisation for the shipment subgraph's writes. Every
 * function takes the input as GraphQL coerced it (types already checked)
 * and returns the normalised value or throws `InvalidInputError` naming the
 * field. Internal to the subgraph.
 */
import { InvalidInputError } from './errors';
import type { AddressDoc, ContactDoc, CustomsDoc, GeoPointDoc, ParcelDoc } from './model';
import type { ShipmentStatus } from './status';

export interface AddressInput {
  line1?: string | null;
  line2?: string | null;
  city?: string | null;
  region?: string | null;
  postalCode?: string | null;
  countryIso3: string;
}
export interface ContactInput {
  name?: string | null;
  phone?: string | null;
  email?: string | null;
}
export interface CustomsInput {
  hsCode: string;
  declaredValue: number;
  currency: string;
  countryOfOrigin: string;
}
export interface ParcelInput {
  barcode: string;
  weightGrams?: number | null;
  dimensions?: { lengthMm: number; widthMm: number; heightMm: number } | null;
  temperatureProfile?: { min: number; max: number; unit: 'CEL' | 'FAH' } | null;
}
export interface GeoPointInput {
  latitude: number;
  longitude: number;
  accuracyMeters?: number | null;
}

const COUNTRY = /^[A-Z]{3}$/;
const CURRENCY = /^[A-Z]{3}$/;
const HS_CODE = /^\d{6,10}$/;
const CARRIER = /^[A-Z0-9][A-Z0-9_-]{1,31}$/;
const TRACKING_NUMBER = /^[A-Z0-9][A-Z0-9-]{3,63}$/;
const E164 = /^\+[1-9]\d{6,14}$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}\.[^\s@]{2,63}$/;
// Printable ASCII without spaces: keys are UUIDs or similar tokens, never free text.
const CLIENT_EVENT_ID = /^[\x21-\x7e]{1,255}$/;

/** Trimmed text of at most `max` characters; empty becomes null. */
export function optText(value: string | null | undefined, field: string, max = 200): string | null {
  if (value === null || value === undefined) return null;
  const v = value.trim();
  if (!v) return null;
  if (v.length > max) throw new InvalidInputError(field, `must be at most ${max} characters`);
  // Control characters have no business in any of our text fields (log and header injection).
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(v)) throw new InvalidInputError(field, 'must not contain control characters');
  return v;
}

export function reqText(value: string, field: string, max = 200): string {
  const v = optText(value, field, max);
  if (v === null) throw new InvalidInputError(field, 'must not be empty');
  return v;
}

export function country(value: string, field: string): string {
  const v = value.trim().toUpperCase();
  if (!COUNTRY.test(v)) throw new InvalidInputError(field, 'must be an ISO 3166-1 alpha-3 code');
  return v;
}

export function carrierCode(value: string, field = 'carrier'): string {
  const v = value.trim().toUpperCase();
  if (!CARRIER.test(v)) throw new InvalidInputError(field, 'must be 2 to 32 letters, digits, - or _');
  return v;
}

/** Upper case, spaces removed: carriers print numbers in groups. Null when it cannot be a tracking number. */
export function normaliseTrackingNumber(value: string): string | null {
  const v = value.replace(/\s+/g, '').toUpperCase();
  return TRACKING_NUMBER.test(v) ? v : null;
}

export function trackingNumber(value: string, field = 'trackingNumber'): string {
  const v = normaliseTrackingNumber(value);
  if (v === null) throw new InvalidInputError(field, 'must be 4 to 64 letters, digits or -');
  return v;
}

export function address(input: AddressInput, field: string): AddressDoc {
  return {
    line1: optText(input.line1, `${field}.line1`),
    line2: optText(input.line2, `${field}.line2`),
    city: optText(input.city, `${field}.city`, 100),
    region: optText(input.region, `${field}.region`, 100),
    postalCode: optText(input.postalCode, `${field}.postalCode`, 20),
    countryIso3: country(input.countryIso3, `${field}.countryIso3`),
  };
}

export function contact(input: ContactInput, field: string): ContactDoc {
  const phone = optText(input.phone, `${field}.phone`, 16);
  if (phone !== null && !E164.test(phone)) throw new InvalidInputError(`${field}.phone`, 'must be in E.164 format, e.g. +15550100000');
  const email = optText(input.email, `${field}.email`, 254);
  if (email !== null && !EMAIL.test(email)) throw new InvalidInputError(`${field}.email`, 'must be an email address');
  return { name: optText(input.name, `${field}.name`), phone, email: email?.toLowerCase() ?? null };
}

export function customs(input: CustomsInput, field: string): CustomsDoc {
  const hsCode = input.hsCode.trim();
  if (!HS_CODE.test(hsCode)) throw new InvalidInputError(`${field}.hsCode`, 'must be 6 to 10 digits');
  if (!Number.isInteger(input.declaredValue) || input.declaredValue < 0) throw new InvalidInputError(`${field}.declaredValue`, 'must be a non-negative integer (minor units)');
  const currency = input.currency.trim().toUpperCase();
  if (!CURRENCY.test(currency)) throw new InvalidInputError(`${field}.currency`, 'must be an ISO 4217 code');
  return { hsCode, declaredValue: input.declaredValue, currency, countryOfOrigin: country(input.countryOfOrigin, `${field}.countryOfOrigin`) };
}

const MAX_PARCELS = 100;

export function parcels(input: ParcelInput[], field = 'parcels'): ParcelDoc[] {
  if (input.length < 1) throw new InvalidInputError(field, 'must hold at least one parcel');
  if (input.length > MAX_PARCELS) throw new InvalidInputError(field, `must hold at most ${MAX_PARCELS} parcels`);
  return input.map((p, i) => {
    const at = `${field}.${i}`;
    if (p.weightGrams !== null && p.weightGrams !== undefined && p.weightGrams < 0) throw new InvalidInputError(`${at}.weightGrams`, 'must not be negative');
    const d = p.dimensions ?? null;
    if (d && [d.lengthMm, d.widthMm, d.heightMm].some((n) => n <= 0)) throw new InvalidInputError(`${at}.dimensions`, 'must be positive');
    const t = p.temperatureProfile ?? null;
    if (t && !(t.min <= t.max)) throw new InvalidInputError(`${at}.temperatureProfile`, 'min must not exceed max');
    if (t && [t.min, t.max].some((n) => !Number.isFinite(n) || Math.abs(n) > 500)) throw new InvalidInputError(`${at}.temperatureProfile`, 'is out of range');
    return {
      barcode: reqText(p.barcode, `${at}.barcode`, 64),
      weightGrams: p.weightGrams ?? null,
      dimensions: d ? { lengthMm: d.lengthMm, widthMm: d.widthMm, heightMm: d.heightMm } : null,
      temperatureProfile: t ? { min: t.min, max: t.max, unit: t.unit } : null,
    };
  });
}

export function geoPoint(input: GeoPointInput, field: string): GeoPointDoc {
  if (!(input.latitude >= -90 && input.latitude <= 90)) throw new InvalidInputError(`${field}.latitude`, 'must be between -90 and 90');
  if (!(input.longitude >= -180 && input.longitude <= 180)) throw new InvalidInputError(`${field}.longitude`, 'must be between -180 and 180');
  const acc = input.accuracyMeters ?? null;
  if (acc !== null && !(acc >= 0)) throw new InvalidInputError(`${field}.accuracyMeters`, 'must not be negative');
  return { latitude: input.latitude, longitude: input.longitude, accuracyMeters: acc };
}

export function clientEventId(value: string): string {
  if (!CLIENT_EVENT_ID.test(value)) throw new InvalidInputError('clientEventId', 'must be 1 to 255 printable characters without spaces');
  return value;
}

/** How far ahead of our clock a reported time may be (device clocks drift). */
export const MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;

/**
 * A time an event or proof happened: never in the future beyond clock skew.
 * A future-dated event would become "latest" and freeze the shipment's status.
 */
export function pastInstant(value: Date, field: string, now: Date): Date {
  if (value.getTime() > now.getTime() + MAX_CLOCK_SKEW_MS) throw new InvalidInputError(field, 'must not be in the future');
  return value;
}

export function utcOffset(value: number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isInteger(value) || value < -720 || value > 840) throw new InvalidInputError('utcOffsetMinutes', 'must be between -720 and 840');
  return value;
}

/** Proof of delivery comes only with a delivery outcome, and the outcome must match the event. */
export function checkProofMatchesEvent(status: ShipmentStatus, outcome: 'SUCCEEDED' | 'FAILED', failureReason: string | null): void {
  if (status !== 'DELIVERED' && status !== 'ATTEMPT_FAILED') throw new InvalidInputError('proofOfDelivery', 'comes only with a DELIVERED or ATTEMPT_FAILED event');
  if (status === 'DELIVERED' && outcome !== 'SUCCEEDED') throw new InvalidInputError('proofOfDelivery.outcome', 'must be SUCCEEDED with a DELIVERED event');
  if (status === 'ATTEMPT_FAILED' && outcome !== 'FAILED') throw new InvalidInputError('proofOfDelivery.outcome', 'must be FAILED with an ATTEMPT_FAILED event');
  if (outcome === 'FAILED' && !failureReason) throw new InvalidInputError('proofOfDelivery.failureReason', 'is required when the outcome is FAILED');
}
