/**
 * Background re-encryption of one tenant's stored values onto the current
 * versions of their data keys: the second half of a data key rotation
 * (`newDataKeyVersion` makes new writes use a new version; this moves what
 * is already stored, then retires the versions nothing uses any more).
 *
 * - Walks every encrypted model given (its declaration from
 *   `encryptedFieldsOf`) over the tenant's documents in `_id` order, in
 *   batches, reading only the ids and the encrypted paths through the raw
 *   collection.
 * - An envelope whose key (`readKeyRef` → key vault record) is not the
 *   highest active version of its series — the document's subject's, or the
 *   tenant's — is opened and sealed again under the current version, with
 *   the same associated data (tenant, collection, path, document id).
 * - The write is a compare-and-set on the old envelope bytes: a document the
 *   application changed meanwhile is never overwritten. A lost race is
 *   re-read once or twice; a path the application rewrote counts as
 *   `skipped` (its writer used the current key anyway).
 * - Values that cannot be opened are never rewritten: a destroyed key
 *   (crypto-shredded subject) counts as `shredded`, anything else (tampered,
 *   a key of another place) as `failed`. Re-encrypting never creates a key,
 *   so it cannot bring a value of a subject shredded during the run back to
 *   life.
 * - A value stored in clear at a declared path (written before encryption
 *   existed, e.g. an old development database) is encrypted: the update is
 *   built by the models' own `encryptUpdateFor` (the current key of the
 *   document's subject or tenant — created when the series has none yet —
 *   and the blind indexes of the path), and written with a compare-and-set
 *   on the plaintext, so a value the application rewrote meanwhile stands.
 *   Counted apart (`plaintext` found, `encryptedPlaintext` written). The
 *   plaintext of a subject (or tenant) whose keys were all destroyed is left
 *   as it is and counted `failed`: no key is created for an erased subject,
 *   and removing the value is erasure's work, not this job's.
 * - A model with document envelopes (`envelope: 'document'`): the envelope
 *   is planned as one value (opened and sealed again as a record, same
 *   associated data, compare-and-set on its bytes). Values of an older
 *   layout beside it — per-field envelopes, plaintext — are folded into it
 *   by the model's `encryptUpdateFor`, which puts the current version on the
 *   whole record and guards the write on everything it read; counted as
 *   `reencrypted` (envelopes) and `encryptedPlaintext`. A document of which
 *   anything cannot be opened (or whose plaintext belongs to an erased
 *   subject) is left whole: what stopped it counts as `shredded` or
 *   `failed`, its other values as `failed`.
 * - Progress is checkpointed in `key_rotation_jobs` after every batch (the
 *   last `_id` per collection and the counts); a killed or interrupted run is
 *   continued by `resume: true` from the last checkpoint. A batch written but
 *   not checkpointed is scanned again and found current: at-least-once, and
 *   idempotent.
 * - At the end a verification pass counts, per key id, the envelopes still
 *   stored (headers only, no decryption), and every non-current active
 *   version of the tenant's series that no envelope names is retired
 *   (`retireIfUnused`). A version still named (a writer whose key cache was
 *   older than the rotation, a failed value) stays active and is reported;
 *   run the job again later.
 *
 * One runner per job: a lease (`leaseUntil`, renewed every batch) keeps a
 * second runner out; a job whose runner died is taken over once the lease
 * has expired.
 */
import { randomBytes } from 'node:crypto';
import type { Connection, Model } from 'mongoose';
import { CryptoError, DecryptionFailedError, KeyVaultError } from './errors';
import { DOCUMENT_FIELD, openRecord, openValue, readKeyRef, sealRecord, sealValue, type FieldContext, type PlainValue } from './fields';
import type { DataKeyInfo, KeyVault } from './key-vault';
import { encryptedFieldsOf, encryptUpdateFor, idString, isEnvelope, valueAtPath as getPath } from './model-encryption';
import { retireIfUnused } from './rotation';
import type { DataKeyRecord } from './vault-store';

export const KEY_ROTATION_JOBS = 'key_rotation_jobs';

/** Counts of a job (per collection and in total). */
export interface ReencryptCounts {
  /** Documents read. */
  scanned: number;
  /** Envelopes found at the declared paths (and document envelopes). */
  envelopes: number;
  /** Envelopes rewritten under the current key version. */
  reencrypted: number;
  /** Envelopes already under the current version. */
  current: number;
  /** Envelopes the application rewrote while the job was at them (compare-and-set lost): left as written. */
  skipped: number;
  /** Envelopes whose key was destroyed (crypto-shredded): unreadable for good, left untouched. */
  shredded: number;
  /** Envelopes that could not be opened for another reason (malformed, tampered, a key of another place), and plaintext that could not be encrypted (an erased subject's, a value of no encryptable type): left untouched. */
  failed: number;
  /** Values found in clear at the declared paths (stored before encryption existed). */
  plaintext: number;
  /** Of those, encrypted by the job (with their blind indexes). */
  encryptedPlaintext: number;
}

export type ReencryptJobStatus = 'running' | 'interrupted' | 'failed' | 'finished';

export interface CollectionProgress {
  collection: string;
  /** `_id` of the last document of the last checkpointed batch (null before the first). */
  lastId: unknown;
  done: boolean;
  counts: ReencryptCounts;
}

/** A key version left after the job (never a subject id). */
export interface KeyVersionRef {
  keyId: string;
  scope: 'tenant' | 'subject';
  version: number;
}

/** The `key_rotation_jobs` document. */
export interface ReencryptJob {
  _id: string;
  tenantId: string;
  status: ReencryptJobStatus;
  phase: 'reencrypt' | 'verify' | 'done';
  /** Documents of the tenant in the models when the job started (the progress bar's total). */
  total: number;
  batchSize: number;
  collections: CollectionProgress[];
  counts: ReencryptCounts;
  runner: string;
  leaseUntil: Date | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  /** The last failure (message only), when `status` is failed. */
  error: string | null;
  /** Old versions retired at the end. */
  retired: KeyVersionRef[];
  /** Old versions still named by stored envelopes at the end (with how many). */
  stillInUse: Array<KeyVersionRef & { envelopes: number }>;
}

export interface ReencryptProgress {
  jobId: string;
  phase: 'reencrypt' | 'verify';
  collection: string;
  /** Documents scanned so far (in this phase, over every run of the job). */
  done: number;
  total: number;
  counts: ReencryptCounts;
}

export interface ReencryptOptions {
  /** The connection holding the models' collections and `key_rotation_jobs`. */
  conn: Connection;
  vault: KeyVault;
  tenantId: string;
  /** The encrypted models (those without `encryptedFields` are ignored). */
  models: readonly Model<any>[];
  /** Documents per batch (and per checkpoint). @default 200 */
  batchSize?: number;
  /** Continue the tenant's unfinished job instead of starting one. */
  resume?: boolean;
  /** Stops between batches; the job is left `interrupted` for `resume`. */
  signal?: AbortSignal;
  onProgress?: (p: ReencryptProgress) => void;
  /** Called after each checkpoint; throwing stops the run there, like a crash (tests). */
  afterBatch?: (info: { jobId: string; collection: string; batch: number }) => void | Promise<void>;
  /** How long a runner holds the job without checkpointing. @default 120000 */
  leaseMs?: number;
  /** @default the vault's clock */
  now?: () => Date;
}

export interface ReencryptResult {
  jobId: string;
  tenantId: string;
  status: ReencryptJobStatus;
  counts: ReencryptCounts;
  collections: CollectionProgress[];
  retired: KeyVersionRef[];
  stillInUse: Array<KeyVersionRef & { envelopes: number }>;
}

/** Another job of this tenant is unfinished (start refused), or there is none to resume. */
export class ReencryptJobError extends KeyVaultError {
  constructor(
    message: string,
    readonly jobId?: string,
  ) {
    super(message);
    this.name = 'ReencryptJobError';
  }
}

export const emptyCounts = (): ReencryptCounts => ({ scanned: 0, envelopes: 0, reencrypted: 0, current: 0, skipped: 0, shredded: 0, failed: 0, plaintext: 0, encryptedPlaintext: 0 });

function add(into: ReencryptCounts, from: Partial<ReencryptCounts>): void {
  for (const k of Object.keys(from) as Array<keyof ReencryptCounts>) into[k] = (into[k] ?? 0) + (from[k] ?? 0);
}

/** Counts of a job document written by an older version, with every count present. */
function fullCounts(c: Partial<ReencryptCounts> | undefined): ReencryptCounts {
  return { ...emptyCounts(), ...c };
}

interface Target {
  model: Model<any>;
  collection: string;
  paths: string[];
  tenantPath: string;
  subjectPath?: string;
  /** Where the model's document envelope is (document mode only). */
  envelopeField?: string;
}

function targetsOf(models: readonly Model<any>[]): Target[] {
  const out: Target[] = [];
  for (const model of models) {
    const spec = encryptedFieldsOf(model);
    if (!spec || out.some((t) => t.collection === spec.collection)) continue;
    out.push({
      model,
      collection: spec.collection,
      paths: [...spec.paths],
      tenantPath: spec.tenantPath ?? 'tenantId',
      subjectPath: spec.subjectPath,
      ...(spec.envelope === 'document' ? { envelopeField: spec.envelopeField ?? 'pii' } : {}),
    });
  }
  return out;
}

function projectionOf(t: Target): Record<string, 1> {
  const fields = [t.tenantPath, ...(t.subjectPath && t.subjectPath !== '_id' ? [t.subjectPath] : []), ...(t.envelopeField ? [t.envelopeField] : []), ...t.paths];
  // A path under another projected one would be a path collision.
  const kept = fields.filter((f) => !fields.some((g) => g !== f && f.startsWith(`${g}.`)));
  return Object.fromEntries([...new Set(kept)].map((f) => [f, 1 as const]));
}

const seriesKey = (tenantId: string, subjectId: string | null) => JSON.stringify([tenantId, subjectId]);

/** Key records and current versions, looked up once per run (never creating a key). */
class KeyLookup {
  private readonly records = new Map<string, DataKeyRecord | null>();
  private readonly currents = new Map<string, DataKeyRecord | null>();
  private readonly erasedSeries = new Map<string, boolean>();
  constructor(private readonly vault: KeyVault) {}

  async record(id: string): Promise<DataKeyRecord | null> {
    if (!this.records.has(id)) this.records.set(id, await this.vault.store.findById(id));
    return this.records.get(id)!;
  }

  async current(tenantId: string, subjectId: string | null): Promise<DataKeyRecord | null> {
    const k = seriesKey(tenantId, subjectId);
    // A series without a key is asked again: encrypting plaintext may create its first version during the run.
    if (!this.currents.get(k)) {
      const latest = await this.vault.store.findLatest({ scope: subjectId === null ? 'tenant' : 'subject', tenantId, subjectId }, ['active']);
      this.currents.set(k, latest);
    }
    return this.currents.get(k)!;
  }

  /** Whether a series was shredded: it has versions and none is active (every one destroyed). */
  async erased(tenantId: string, subjectId: string | null): Promise<boolean> {
    const k = seriesKey(tenantId, subjectId);
    if (!this.erasedSeries.has(k)) {
      const series = { scope: subjectId === null ? ('tenant' as const) : ('subject' as const), tenantId, subjectId };
      const latest = await this.vault.store.findLatest(series);
      this.erasedSeries.set(k, latest?.status === 'destroyed' && !(await this.vault.store.findLatest(series, ['active'])));
    }
    return this.erasedSeries.get(k)!;
  }
}

type Outcome = 'current' | 'shredded' | 'failed' | { old: unknown; sealed: unknown };

/** What to do with one stored envelope (`record`: a document envelope). */
async function plan(vault: KeyVault, keys: KeyLookup, stored: unknown, ctx: FieldContext, record = false): Promise<Outcome> {
  let keyId: string;
  try {
    keyId = readKeyRef(stored).keyId;
  } catch {
    return 'failed';
  }
  const rec = await keys.record(keyId);
  if (!rec) return 'failed';
  if (rec.status === 'destroyed' || !rec.wrappedKey) return 'shredded';
  // The key must belong where the value is, as the plugin checks on reads.
  if (rec.tenantId !== ctx.tenantId || rec.subjectId !== (ctx.subjectId ?? null)) return 'failed';
  const current = await keys.current(rec.tenantId, rec.subjectId);
  if (!current) return 'failed';
  if (current._id === rec._id) return 'current';
  let plain: PlainValue | Map<string, PlainValue>;
  try {
    const key = await vault.dataKeyById(rec._id);
    plain = record ? openRecord(stored, key, ctx) : openValue(stored, key, ctx);
  } catch (err) {
    if (err instanceof DecryptionFailedError) return err.reason === 'KEY_DESTROYED' ? 'shredded' : 'failed';
    throw err;
  }
  let next;
  try {
    next = await vault.dataKeyById(current._id);
  } catch (err) {
    // Shredded between the lookups: the value is erased, leave it.
    if (err instanceof DecryptionFailedError) return err.reason === 'KEY_DESTROYED' ? 'shredded' : 'failed';
    throw err;
  }
  return { old: stored, sealed: plain instanceof Map ? sealRecord(plain, next, ctx) : sealValue(plain, next, ctx) };
}

function contextOf(t: Target, tenantId: string, doc: Record<string, unknown>, path: string): FieldContext | undefined {
  const documentId = idString(doc._id);
  if (!documentId) return undefined;
  const ctx: FieldContext = { tenantId, collection: t.collection, field: path, documentId };
  if (t.subjectPath) {
    const subject = t.subjectPath === '_id' ? documentId : getPath(doc, t.subjectPath);
    if (typeof subject !== 'string' || !subject) return undefined;
    ctx.subjectId = subject;
  }
  return ctx;
}

/**
 * The encrypted update of one value stored in clear, from the model's own
 * `encryptUpdateFor` (envelope and blind indexes); 'failed' when it cannot
 * be encrypted, or when its subject's or tenant's keys were shredded (no key
 * is made for an erased subject).
 */
async function planPlaintext(keys: KeyLookup, t: Target, ctx: FieldContext, path: string, value: unknown): Promise<{ $set: Record<string, unknown>; $unset?: Record<string, unknown> } | 'failed'> {
  if ((await keys.erased(ctx.tenantId, null)) || (ctx.subjectId !== undefined && (await keys.erased(ctx.tenantId, ctx.subjectId)))) return 'failed';
  let update: Record<string, unknown>;
  try {
    update = await encryptUpdateFor(t.model, { $set: { [path]: value } }, { documentId: ctx.documentId as string, tenantId: ctx.tenantId, ...(ctx.subjectId !== undefined ? { subjectId: ctx.subjectId } : {}) });
  } catch (err) {
    // A value of no encryptable type, binary data that is not an envelope, a tenant whose own master key is revoked: left for a person to look at.
    if (err instanceof CryptoError && ['UNSUPPORTED_VALUE', 'PLAINTEXT_WRITE_REFUSED', 'MASTER_KEY_UNAVAILABLE'].includes(err.code)) return 'failed';
    throw err;
  }
  const set = update.$set as Record<string, unknown> | undefined;
  // Encryption off on the connection (benchmarks) hands the plaintext back: never write it as if encrypted.
  if (!set || !isEnvelope(set[path])) return 'failed';
  return { $set: set, ...(update.$unset ? { $unset: update.$unset as Record<string, unknown> } : {}) };
}

/**
 * One document of a model with document envelopes: its envelope re-sealed
 * under the current version, values of an older layout folded into it;
 * left whole when anything of it cannot be opened. Re-read after a lost race.
 */
async function processRecordDocument(vault: KeyVault, keys: KeyLookup, t: Target, envelopeField: string, tenantId: string, first: Record<string, unknown>): Promise<ReencryptCounts> {
  const counts = emptyCounts();
  counts.scanned = 1;
  let doc: Record<string, unknown> | null = first;
  let again = false;
  let items = 0;
  for (let attempt = 0; doc && attempt < 3; attempt++) {
    const d: Record<string, unknown> = doc;
    const envelope = d[envelopeField];
    const hasEnvelope = envelope !== undefined && envelope !== null;
    const older = t.paths.filter((p) => getPath(d, p) !== undefined && getPath(d, p) !== null);
    const fieldEnvelopes = older.filter((p) => isEnvelope(getPath(d, p)));
    const plaintext = older.length - fieldEnvelopes.length;
    if (again && hasEnvelope === false && older.length === 0) {
      // Cleared meanwhile: not ours to touch.
      counts.skipped += items;
      return counts;
    }
    items = (hasEnvelope ? 1 : 0) + older.length;
    if (!again) {
      counts.envelopes += (hasEnvelope ? 1 : 0) + fieldEnvelopes.length;
      counts.plaintext += plaintext;
    }
    if (items === 0) return counts;
    const ctx = contextOf(t, tenantId, d, DOCUMENT_FIELD);
    const outcome = !hasEnvelope ? undefined : ctx && isEnvelope(envelope) ? await plan(vault, keys, envelope, ctx, true) : 'failed';
    if (older.length === 0) {
      if (outcome === 'current') {
        // After a lost race, a current envelope is the application's fresh write.
        counts[again ? 'skipped' : 'current']++;
        return counts;
      }
      if (outcome === 'shredded' || outcome === 'failed' || outcome === undefined) {
        if (outcome) counts[outcome]++;
        return counts;
      }
      const res = await t.model.collection.updateOne({ _id: d._id, [t.tenantPath]: tenantId, [envelopeField]: outcome.old } as never, { $set: { [envelopeField]: outcome.sealed } } as never);
      if (res.matchedCount === 1) {
        counts.reencrypted++;
        return counts;
      }
    } else {
      // Everything must open, or folding the values in would drop what cannot: then the document is left whole.
      let blocked = 0;
      let open = 0;
      if (outcome === 'shredded' || outcome === 'failed') {
        counts[outcome]++;
        blocked++;
      } else if (outcome !== undefined) open++;
      for (const p of fieldEnvelopes) {
        const o = ctx ? await plan(vault, keys, getPath(d, p), { ...ctx, field: p }) : 'failed';
        if (o === 'shredded' || o === 'failed') {
          counts[o]++;
          blocked++;
        } else open++;
      }
      // No key is made for an erased subject (or tenant): its plaintext is erasure's to remove.
      if (plaintext && (!ctx || (await keys.erased(tenantId, null)) || (ctx.subjectId !== undefined && (await keys.erased(tenantId, ctx.subjectId))))) {
        counts.failed += plaintext;
        blocked += plaintext;
      } else open += plaintext;
      if (blocked) {
        counts.failed += open;
        return counts;
      }
      const filter: Record<string, unknown> = { _id: d._id, [t.tenantPath]: tenantId };
      let update: Record<string, unknown>;
      try {
        update = await encryptUpdateFor(t.model, {}, { documentId: ctx!.documentId as string, tenantId, ...(ctx!.subjectId !== undefined ? { subjectId: ctx!.subjectId } : {}) }, filter);
      } catch (err) {
        // Changed meanwhile into something that cannot be opened, a value of no encryptable type, a revoked master key.
        if (err instanceof CryptoError && ['UNSUPPORTED_VALUE', 'PLAINTEXT_WRITE_REFUSED', 'MASTER_KEY_UNAVAILABLE', 'DECRYPTION_FAILED'].includes(err.code)) {
          counts.failed += items;
          return counts;
        }
        throw err;
      }
      // Encryption off on the connection hands the update back: never write it as if encrypted.
      if (!isEnvelope((update.$set as Record<string, unknown> | undefined)?.[envelopeField])) {
        counts.failed += items;
        return counts;
      }
      const res = await t.model.collection.updateOne(filter as never, update as never);
      if (res.matchedCount === 1) {
        counts.reencrypted += fieldEnvelopes.length + (outcome !== undefined && outcome !== 'current' ? 1 : 0);
        if (outcome === 'current') counts.current++;
        counts.encryptedPlaintext += plaintext;
        return counts;
      }
    }
    // Lost the race: someone wrote the document meanwhile. Look again.
    again = true;
    doc = (await t.model.collection.findOne({ _id: d._id, [t.tenantPath]: tenantId } as never, { projection: projectionOf(t) })) as Record<string, unknown> | null;
  }
  // Gone, or rewritten on every attempt: the application's values stand.
  counts.skipped += items;
  return counts;
}

/** Re-encrypts one document's stale envelopes and encrypts its plaintext with a compare-and-set, re-reading it after a lost race. */
async function processDocument(vault: KeyVault, keys: KeyLookup, t: Target, tenantId: string, first: Record<string, unknown>): Promise<ReencryptCounts> {
  if (t.envelopeField) return processRecordDocument(vault, keys, t, t.envelopeField, tenantId, first);
  const counts = emptyCounts();
  counts.scanned = 1;
  let doc: Record<string, unknown> | null = first;
  let pending: Set<string> | undefined;
  for (let attempt = 0; doc && attempt < 3; attempt++) {
    const set: Record<string, unknown> = {};
    const unset: Record<string, unknown> = {};
    const expect: Record<string, unknown> = {};
    let plainPaths = 0;
    for (const path of t.paths) {
      if (pending && !pending.has(path)) continue;
      const stored = getPath(doc, path);
      if (stored === undefined || stored === null) {
        // Cleared meanwhile: not ours to touch.
        if (pending) counts.skipped++;
        continue;
      }
      if (!isEnvelope(stored)) {
        if (!pending) counts.plaintext++;
        const ctx = contextOf(t, tenantId, doc, path);
        const planned = ctx ? await planPlaintext(keys, t, ctx, path, stored) : 'failed';
        if (planned === 'failed') {
          counts.failed++;
          continue;
        }
        Object.assign(set, planned.$set);
        Object.assign(unset, planned.$unset ?? {});
        // $eq: a stored object is compared as a value, never read as query operators.
        expect[path] = { $eq: stored };
        plainPaths++;
        continue;
      }
      if (!pending) counts.envelopes++;
      const ctx = contextOf(t, tenantId, doc, path);
      const outcome = ctx ? await plan(vault, keys, stored, ctx) : 'failed';
      if (outcome === 'current') {
        // After a lost race, a current envelope is the application's fresh write.
        counts[pending ? 'skipped' : 'current']++;
      } else if (outcome === 'shredded' || outcome === 'failed') counts[outcome]++;
      else {
        set[path] = outcome.sealed;
        expect[path] = outcome.old;
      }
    }
    const paths = Object.keys(expect);
    if (paths.length === 0) return counts;
    const res = await t.model.collection.updateOne({ _id: doc._id, [t.tenantPath]: tenantId, ...expect } as never, { $set: set, ...(Object.keys(unset).length ? { $unset: unset } : {}) } as never);
    if (res.matchedCount === 1) {
      counts.reencrypted += paths.length - plainPaths;
      counts.encryptedPlaintext += plainPaths;
      return counts;
    }
    // Lost the race: someone wrote the document meanwhile. Look again at the paths we meant to write.
    pending = new Set(paths);
    doc = (await t.model.collection.findOne({ _id: doc._id, [t.tenantPath]: tenantId } as never, { projection: projectionOf(t) })) as Record<string, unknown> | null;
  }
  // Gone, or rewritten on every attempt: the application's values stand.
  counts.skipped += pending?.size ?? 0;
  return counts;
}

function jobs(conn: Connection) {
  return conn.db!.collection<ReencryptJob>(KEY_ROTATION_JOBS);
}

/** The tenant's job that has not finished (running, interrupted or failed), newest first. */
export async function findUnfinishedJob(conn: Connection, tenantId: string): Promise<ReencryptJob | null> {
  return jobs(conn).findOne({ tenantId, status: { $in: ['running', 'interrupted', 'failed'] } }, { sort: { startedAt: -1 } });
}

/** The tenant's jobs, newest first. */
export async function listJobs(conn: Connection, tenantId: string): Promise<ReencryptJob[]> {
  return jobs(conn).find({ tenantId }).sort({ startedAt: -1 }).toArray();
}

/**
 * Runs (or with `resume`, continues) the re-encryption job of one tenant:
 * see the file comment. Resolves with the final counts when the job is
 * finished or interrupted (`signal`); rejects after marking it failed when
 * something throws (resume it later).
 */
export async function reencryptTenant(opts: ReencryptOptions): Promise<ReencryptResult> {
  const { conn, vault, tenantId } = opts;
  if (!tenantId) throw new TypeError('tenantId is required');
  const now = opts.now ?? (() => vault.clock());
  const leaseMs = opts.leaseMs ?? 120_000;
  const targets = targetsOf(opts.models);
  const runner = randomBytes(8).toString('hex');
  const coll = jobs(conn);
  let job: ReencryptJob;

  const unfinished = await findUnfinishedJob(conn, tenantId);
  if (opts.resume) {
    if (!unfinished) throw new ReencryptJobError(`no unfinished re-encryption job for tenant ${tenantId}`);
    const claimed = await coll.updateOne(
      { _id: unfinished._id, $or: [{ status: { $ne: 'running' } }, { leaseUntil: null }, { leaseUntil: { $lt: now() } }] },
      { $set: { status: 'running', runner, leaseUntil: new Date(now().getTime() + leaseMs), error: null, updatedAt: now() } },
    );
    if (claimed.matchedCount !== 1) throw new ReencryptJobError(`job ${unfinished._id} is being run by another process (lease until ${unfinished.leaseUntil?.toISOString()})`, unfinished._id);
    job = { ...unfinished, status: 'running', runner, counts: fullCounts(unfinished.counts), collections: unfinished.collections.map((c) => ({ ...c, counts: fullCounts(c.counts) })) };
    // Models that gained encrypted fields since the job started are walked too.
    for (const t of targets) if (!job.collections.some((c) => c.collection === t.collection)) job.collections.push({ collection: t.collection, lastId: null, done: false, counts: emptyCounts() });
  } else {
    if (unfinished) throw new ReencryptJobError(`tenant ${tenantId} has an unfinished re-encryption job ${unfinished._id} (${unfinished.status}): resume it`, unfinished._id);
    let total = 0;
    for (const t of targets) total += await t.model.collection.countDocuments({ [t.tenantPath]: tenantId } as never);
    const at = now();
    job = {
      _id: randomBytes(12).toString('hex'),
      tenantId,
      status: 'running',
      phase: 'reencrypt',
      total,
      batchSize: opts.batchSize ?? 200,
      collections: targets.map((t) => ({ collection: t.collection, lastId: null, done: false, counts: emptyCounts() })),
      counts: emptyCounts(),
      runner,
      leaseUntil: new Date(at.getTime() + leaseMs),
      startedAt: at,
      updatedAt: at,
      finishedAt: null,
      error: null,
      retired: [],
      stillInUse: [],
    };
    await coll.insertOne(job);
  }
  const batchSize = opts.batchSize ?? job.batchSize;

  const checkpoint = async (patch: Partial<ReencryptJob>) => {
    Object.assign(job, patch);
    const res = await coll.updateOne({ _id: job._id, runner }, { $set: { updatedAt: now(), leaseUntil: new Date(now().getTime() + leaseMs), ...patch } });
    if (res.matchedCount !== 1) throw new ReencryptJobError(`job ${job._id} was taken over by another process`, job._id);
  };
  const result = (): ReencryptResult => ({ jobId: job._id, tenantId, status: job.status, counts: job.counts, collections: job.collections, retired: job.retired, stillInUse: job.stillInUse });

  try {
    if (job.phase === 'reencrypt') {
      const keys = new KeyLookup(vault);
      let batch = 0;
      for (const t of targets) {
        const state = job.collections.find((c) => c.collection === t.collection)!;
        while (!state.done) {
          if (opts.signal?.aborted) {
            await checkpoint({ status: 'interrupted', leaseUntil: null });
            return result();
          }
          const filter: Record<string, unknown> = { [t.tenantPath]: tenantId };
          if (state.lastId !== null && state.lastId !== undefined) filter._id = { $gt: state.lastId };
          const docs = (await t.model.collection.find(filter as never, { projection: projectionOf(t), sort: { _id: 1 }, limit: batchSize }).toArray()) as Array<Record<string, unknown>>;
          const batchCounts = emptyCounts();
          // A few documents at a time: each is one compare-and-set.
          for (let i = 0; i < docs.length; i += 16) {
            const part = await Promise.all(docs.slice(i, i + 16).map((d) => processDocument(vault, keys, t, tenantId, d)));
            for (const c of part) add(batchCounts, c);
          }
          add(state.counts, batchCounts);
          add(job.counts, batchCounts);
          if (docs.length > 0) state.lastId = docs[docs.length - 1]._id;
          if (docs.length < batchSize) state.done = true;
          await checkpoint({ collections: job.collections, counts: job.counts });
          opts.onProgress?.({ jobId: job._id, phase: 'reencrypt', collection: t.collection, done: job.counts.scanned, total: Math.max(job.total, job.counts.scanned), counts: { ...job.counts } });
          batch++;
          await opts.afterBatch?.({ jobId: job._id, collection: t.collection, batch });
        }
      }
      await checkpoint({ phase: 'verify' });
    }

    // Verification: which key ids do stored envelopes name now? Headers only.
    const usage = new Map<string, number>();
    let verified = 0;
    for (const t of targets) {
      let lastId: unknown = null;
      for (;;) {
        if (opts.signal?.aborted) {
          await checkpoint({ status: 'interrupted', leaseUntil: null });
          return result();
        }
        const filter: Record<string, unknown> = { [t.tenantPath]: tenantId };
        if (lastId !== null) filter._id = { $gt: lastId };
        const docs = (await t.model.collection.find(filter as never, { projection: projectionOf(t), sort: { _id: 1 }, limit: Math.max(batchSize, 500) }).toArray()) as Array<Record<string, unknown>>;
        for (const d of docs)
          for (const p of t.envelopeField ? [...t.paths, t.envelopeField] : t.paths) {
            const v = getPath(d, p);
            if (!isEnvelope(v)) continue;
            try {
              const id = readKeyRef(v).keyId;
              usage.set(id, (usage.get(id) ?? 0) + 1);
            } catch {
              // Malformed: names no key.
            }
          }
        verified += docs.length;
        if (docs.length > 0) {
          lastId = docs[docs.length - 1]._id;
          opts.onProgress?.({ jobId: job._id, phase: 'verify', collection: t.collection, done: verified, total: Math.max(job.total, verified), counts: { ...job.counts } });
        }
        if (docs.length < Math.max(batchSize, 500)) break;
        // Keep the lease while verifying a large tenant.
        await checkpoint({});
      }
    }
    const { retired, stillInUse } = await retireUnused(vault, tenantId, usage);
    await checkpoint({ status: 'finished', phase: 'done', finishedAt: now(), leaseUntil: null, retired, stillInUse });
    return result();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await coll.updateOne({ _id: job._id, runner }, { $set: { status: 'failed', error: message.slice(0, 500), leaseUntil: null, updatedAt: now() } }).catch(() => undefined);
    throw err;
  }
}

/**
 * Retires every non-current active version of the tenant's series (its own
 * and its subjects') that no stored envelope names, per `usage` (key id →
 * envelopes), a count taken after the re-encryption pass.
 */
export async function retireUnused(vault: KeyVault, tenantId: string, usage: ReadonlyMap<string, number>): Promise<{ retired: KeyVersionRef[]; stillInUse: Array<KeyVersionRef & { envelopes: number }> }> {
  const active = await vault.listKeys({ tenantId, status: ['active'] });
  const highest = new Map<string, number>();
  for (const k of active) highest.set(seriesKey(k.tenantId, k.subjectId), Math.max(highest.get(seriesKey(k.tenantId, k.subjectId)) ?? 0, k.version));
  const retired: KeyVersionRef[] = [];
  const stillInUse: Array<KeyVersionRef & { envelopes: number }> = [];
  for (const k of active) {
    if (k.version === highest.get(seriesKey(k.tenantId, k.subjectId))) continue;
    const ref: KeyVersionRef = { keyId: k._id, scope: k.scope, version: k.version };
    const outcome = await retireIfUnused(vault, { tenantId, subjectId: k.subjectId, version: k.version }, async (key: DataKeyInfo) => (usage.get(key._id) ?? 0) > 0);
    if (outcome.retired) retired.push(ref);
    else if (outcome.reason === 'IN_USE') stillInUse.push({ ...ref, envelopes: usage.get(k._id) ?? 0 });
  }
  return { retired, stillInUse };
}
