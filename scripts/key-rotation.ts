/**
 * The cores of `npm run keys:rotate-master` and `npm run keys:rotate-data`
 * (scripts/rotate-master-key.ts, scripts/rotate-data-keys.ts): argument
 * parsing, the database the commands use, master key rotation, data key
 * rotation with the re-encryption job, the keys due for rotation, and the
 * progress bar. Tests drive these functions; the scripts only wire them to
 * the configuration, the terminal and signals.
 */
import path from 'node:path';
import mongoose, { type Connection } from 'mongoose';
import { startDevDb, type DevDb } from '../devdb';
import type { Config } from '../lib/config';
import { createKeyVault, type DataKeyInfo, type KeyVault } from '../lib/crypto';
import { keySettingsOf, masterKeyFromId, masterKeyFromRef, type MasterKeySettings, type TenantMasterKey } from '../lib/crypto/config';
import { MasterKeyNotFoundError } from '../lib/crypto/errors';
import { masterKeyIdOf, openMasterKeyProvider, type MasterKeyConfig, type MasterKeyProvider } from '../lib/crypto/providers';
import { findUnfinishedJob, reencryptTenant, type ReencryptProgress, type ReencryptResult } from '../lib/crypto/reencrypt';
import { newDataKeyVersion, rewrapAll, type RewrapResult } from '../lib/crypto/rotation';
import { MongooseKeyVaultStore } from '../lib/crypto/vault-store';
import { encryptedModels } from '../subgraphs/encrypted-models';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

// ---------------------------------------------------------------------------------------------
// The database

export interface KeyDatabase {
  conn: Connection;
  /** Where it is, for the operator (never credentials). */
  where: string;
  close(): Promise<void>;
}

/**
 * MONGODB_URI; without it, in development only, the devdb `npm start` uses:
 * opened on its data folder, or — when `npm start` is running and holds
 * that folder — reached on its port (DEVDB_PORT).
 */
export async function openKeyDatabase(config: Config): Promise<KeyDatabase> {
  let uri = config.mongodbUri;
  let devdb: DevDb | undefined;
  let where = 'MONGODB_URI';
  if (!uri) {
    if (config.appEnv !== 'development') throw new Error('MONGODB_URI is required');
    const dataDir = path.join(config.dataDir, 'devdb');
    try {
      devdb = await startDevDb({ port: 0, dataDir });
      uri = devdb.uri;
      where = `embedded devdb (data in ${dataDir})`;
    } catch (err) {
      if ((err as { code?: string }).code !== 'JOURNAL_LOCKED') throw err;
      uri = `mongodb://127.0.0.1:${config.devdbPort}/?replicaSet=devdb`;
      where = `devdb of the running npm start (port ${config.devdbPort})`;
    }
  }
  // No index builds from a maintenance command: the services own their indexes.
  const conn = await mongoose.createConnection(uri, { dbName: config.mongodbDb, serverSelectionTimeoutMS: 10_000, autoIndex: false, autoCreate: false }).asPromise();
  return {
    conn,
    where,
    close: async () => {
      await conn.close();
      await devdb?.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Master key rotation

/** The configured master key under another name: same kind, same token or folder. */
export function masterKeyNamed(current: MasterKeyConfig, name: string): MasterKeyConfig {
  if (!NAME.test(name)) throw new Error(`master key name must be letters, digits, '.', '_' or '-' (at most 64), got "${name}"`);
  if (current.kind === 'local') return { ...current, name };
  return { ...current, keyLabel: `${current.env}/${name}` };
}

/** `--to` / `--from`: a name (a key of the platform key's kind) or a reference `<provider>:<name>` (TENANT_MASTER_KEYS syntax). */
function masterKeyArg(arg: string, platform: MasterKeyConfig, settings: MasterKeySettings): MasterKeyConfig {
  return arg.includes(':') ? masterKeyFromRef(arg, settings) : masterKeyNamed(platform, arg);
}

export interface RotateMasterOptions {
  conn: Connection;
  /** The configured master key (config.crypto.masterKey). */
  masterKey: MasterKeyConfig;
  /** Tenants' own master keys (config.crypto.tenantMasterKeys): a platform rotation moves their keys onto them. */
  tenantMasterKeys?: readonly TenantMasterKey[];
  /** What references resolve against (config.crypto.keySettings). @default derived from `masterKey` */
  keySettings?: MasterKeySettings;
  /** The new master key: a name (same kind as the configured one) or `<provider>:<name>`. */
  to: string;
  /**
   * The key to move away from (name or reference). @default without
   * `tenantId` the configured one (after switching MASTER_KEY_NAME: the old
   * name); with `tenantId` every master key the tenant's data keys name
   */
  from?: string;
  /** Only this tenant's data keys: moves them onto `to` (e.g. onto its own key, BYOK). */
  tenantId?: string;
  onProgress?: (p: { rewrapped: number; skipped: number }) => void;
}

export interface RotateMasterResult extends RewrapResult {
  /** The master key(s) data keys were moved from, comma-separated ('' when there was none). */
  from: string;
  to: string;
  /** Without `tenantId`: data keys (any tenant) still wrapped by `from`; with it: the tenant's data keys not wrapped by `to`. */
  remaining: number;
  /** With `tenantId`: the master key the tenant's new data keys are wrapped by per the configuration. */
  configured?: string;
}

/**
 * Rewraps data keys under the `to` master key. Without `tenantId`, every
 * data key wrapped by `from` (the configured platform key by default) —
 * except those of tenants with their own master key, which go onto it. With
 * `tenantId`, every data key of that tenant not yet wrapped by `to`. The
 * local provider generates a new key file in development; PKCS#11 needs the
 * key to exist in the token (created by the HSM's own tooling;
 * `ensurePkcs11MasterKey` in tests).
 */
export async function rotateMasterKey(opts: RotateMasterOptions): Promise<RotateMasterResult> {
  const settings = opts.keySettings ?? keySettingsOf({ masterKey: opts.masterKey });
  // One provider per key id: the vault refuses two objects claiming one key.
  const opened = new Map<string, MasterKeyProvider>();
  const open = async (config: MasterKeyConfig): Promise<MasterKeyProvider> => {
    const known = opened.get(masterKeyIdOf(config));
    if (known) return known;
    const p = await openMasterKeyProvider(config);
    opened.set(p.id, p);
    return p;
  };
  try {
    // A named old key must exist: never generate the key data is moved away from.
    const fromConfig = opts.from ? ({ ...masterKeyArg(opts.from, opts.masterKey, settings), generate: false } as MasterKeyConfig) : opts.tenantId ? undefined : opts.masterKey;
    const from = fromConfig ? await open(fromConfig) : undefined;
    const to = await open(masterKeyArg(opts.to, opts.masterKey, settings));
    if (from && from.id === to.id) throw new Error(`--to names the master key the data keys are moved from (${from.id}); after switching MASTER_KEY_NAME, pass --from <old name>`);
    const vault = await createKeyVault({ store: new MongooseKeyVaultStore(opts.conn), env: to.env, masterKey: to });
    const live = ['active', 'retired'] as Array<'active' | 'retired'>;

    if (opts.tenantId) {
      const tenantId = opts.tenantId;
      let sources: MasterKeyProvider[];
      if (from) sources = [from];
      else {
        const ids = new Set((await vault.listKeys({ tenantId, status: live })).map((k) => k.masterKeyId));
        ids.delete(to.id);
        sources = [];
        for (const id of [...ids].sort()) {
          try {
            sources.push(await open(masterKeyFromId(id, settings)));
          } catch (err) {
            throw new Error(`cannot open ${id}, which wraps data keys of tenant ${tenantId}: ${(err as Error).message}`);
          }
        }
      }
      const res: RewrapResult = { rewrapped: 0, skipped: 0 };
      for (const source of sources) {
        const r = await rewrapAll(vault, source, to, { tenantId, onProgress: (p) => opts.onProgress?.({ rewrapped: res.rewrapped + p.rewrapped, skipped: res.skipped + p.skipped }) });
        res.rewrapped += r.rewrapped;
        res.skipped += r.skipped;
      }
      const remaining = (await vault.listKeys({ tenantId, status: live })).filter((k) => k.masterKeyId !== to.id).length;
      const own = opts.tenantMasterKeys?.find((t) => t.tenantId === tenantId);
      const configured = own ? masterKeyIdOf(own.masterKey) : masterKeyIdOf(opts.masterKey);
      return { ...res, from: sources.map((p) => p.id).join(', '), to: to.id, remaining, configured };
    }

    // Tenants with their own key get their keys moved onto it; a key that cannot be opened (revoked) leaves them to `to`.
    const own = new Map<string, MasterKeyProvider>();
    for (const t of opts.tenantMasterKeys ?? []) {
      try {
        own.set(t.tenantId, await open(t.masterKey));
      } catch (err) {
        if (!(err instanceof MasterKeyNotFoundError)) throw err;
      }
    }
    const res = await rewrapAll(vault, from!, to, { onProgress: opts.onProgress, ...(own.size ? { targetFor: (tenantId: string) => own.get(tenantId) } : {}) });
    const remaining = (await vault.listKeys({ masterKeyId: from!.id, status: live })).length;
    return { ...res, from: from!.id, to: to.id, remaining };
  } finally {
    await Promise.all([...opened.values()].map((p) => p.close().catch(() => undefined)));
  }
}

export function formatMasterRotation(r: RotateMasterResult, opts: { tenantId?: string; to: string }): string {
  if (opts.tenantId) {
    const lines = [
      `master key move of tenant ${opts.tenantId}: ${r.from || '(no data key to move)'} → ${r.to}`,
      `rewrapped ${r.rewrapped} data key(s)${r.skipped ? `, ${r.skipped} changed meanwhile (run again)` : ''}`,
      `data keys of tenant ${opts.tenantId} not wrapped by ${r.to}: ${r.remaining}`,
    ];
    if (r.configured && r.configured !== r.to) {
      lines.push(
        `next: the tenant's new data keys are still wrapped by ${r.configured}: set TENANT_MASTER_KEYS (or its file) to ${opts.tenantId}=${opts.to.includes(':') ? opts.to : `<provider>:${opts.to}`} for every process`,
        '      and restart them; then run this command again to move keys created meanwhile.',
      );
    }
    return lines.join('\n') + '\n';
  }
  const lines = [
    `master key rotation: ${r.from} → ${r.to}`,
    `rewrapped ${r.rewrapped} data key(s)${r.ontoTenantKeys ? ` (${r.ontoTenantKeys} onto tenants' own master keys)` : ''}${r.skipped ? `, ${r.skipped} changed meanwhile (run again)` : ''}`,
    `data keys still wrapped by ${r.from}: ${r.remaining}`,
  ];
  const ref = opts.to.includes(':') ? opts.to.split(':') : undefined;
  const settingsHint = ref ? `MASTER_KEY_PROVIDER=${ref[0]} MASTER_KEY_NAME=${ref[1].replace(/^.*\//, '')}` : `MASTER_KEY_NAME=${opts.to}`;
  lines.push(
    `next: set ${settingsHint} for every process and restart them; then run this command again with --from <old name> --to ${opts.to}`,
    `      to rewrap keys created meanwhile. Keep ${r.from} until no data key names it (the count above is 0), then remove it.`,
  );
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Data key rotation

export interface RotateDataOptions {
  conn: Connection;
  vault: KeyVault;
  tenantId: string;
  /** Also a new version of every subject key of the tenant (not the shredded ones). */
  subjects?: boolean;
  batchSize?: number;
  /** Continue the tenant's unfinished re-encryption job (no new versions). */
  resume?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: ReencryptProgress) => void;
  /** Tests: see ReencryptOptions.afterBatch. */
  afterBatch?: (info: { jobId: string; collection: string; batch: number }) => void | Promise<void>;
}

export interface RotateDataResult {
  /** The tenant key's new version (none on resume). */
  tenantVersion?: number;
  /** Subject series that got a new version. */
  subjectSeries: number;
  job: ReencryptResult;
}

/** New data key versions for the tenant (and its subjects), then the re-encryption job over every encrypted model. */
export async function rotateDataKeys(opts: RotateDataOptions): Promise<RotateDataResult> {
  const { vault, tenantId } = opts;
  const models = encryptedModels(opts.conn);
  let tenantVersion: number | undefined;
  let subjectSeries = 0;
  if (!opts.resume) {
    const unfinished = await findUnfinishedJob(opts.conn, tenantId);
    if (unfinished) throw new Error(`tenant ${tenantId} has an unfinished re-encryption job ${unfinished._id} (${unfinished.status}): run with --resume`);
    tenantVersion = (await newDataKeyVersion(vault, { tenantId })).version;
    if (opts.subjects) {
      const subjects = new Set<string>();
      for (const k of await vault.listKeys({ tenantId, scope: 'subject', status: ['active'] })) if (k.subjectId) subjects.add(k.subjectId);
      for (const subjectId of subjects) {
        await newDataKeyVersion(vault, { tenantId, subjectId });
        subjectSeries++;
      }
    }
  }
  const job = await reencryptTenant({ conn: opts.conn, vault, tenantId, models, batchSize: opts.batchSize, resume: opts.resume, signal: opts.signal, onProgress: opts.onProgress, afterBatch: opts.afterBatch });
  return { tenantVersion, subjectSeries, job };
}

export function formatDataRotation(r: RotateDataResult): string {
  const c = r.job.counts;
  const lines: string[] = [];
  if (r.tenantVersion !== undefined) lines.push(`tenant ${r.job.tenantId}: data key version ${r.tenantVersion} now encrypts new writes${r.subjectSeries ? `; ${r.subjectSeries} subject key(s) got a new version` : ''}`);
  if (r.job.status === 'interrupted') {
    lines.push(`interrupted: job ${r.job.jobId} stopped after ${c.scanned} document(s); continue with --resume`);
    return lines.join('\n') + '\n';
  }
  lines.push(
    `re-encrypted ${c.reencrypted} value(s) in ${c.scanned} document(s) (job ${r.job.jobId}): ${c.current} already current, ${c.skipped} skipped (written meanwhile), ${c.shredded} shredded (left unreadable), ${c.failed} failed`,
    `encrypted ${c.encryptedPlaintext ?? 0} value(s) stored in clear${c.plaintext ? ` (of ${c.plaintext} found)` : ''}`,
  );
  lines.push(`retired ${r.job.retired.length} old key version(s)${r.job.stillInUse.length ? `; ${r.job.stillInUse.length} still in use (${r.job.stillInUse.reduce((n, k) => n + k.envelopes, 0)} value(s)): run again later` : ''}`);
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Keys due for rotation

export interface DueSeries {
  tenantId: string;
  scope: 'tenant' | 'subject';
  /** The current (highest active) version and its age. */
  version: number;
  ageDays: number;
  masterKeyId: string;
  keyId: string;
}

/** Series whose current version is at least `rotationDays` old (subject ids are not part of the answer). */
export async function dueKeys(vault: KeyVault, rotationDays: number, tenantId?: string): Promise<DueSeries[]> {
  const current = new Map<string, DataKeyInfo>();
  for (const k of await vault.listKeys({ ...(tenantId ? { tenantId } : {}), status: ['active'] })) {
    const s = JSON.stringify([k.tenantId, k.subjectId]);
    const known = current.get(s);
    if (!known || k.version > known.version) current.set(s, k);
  }
  return [...current.values()]
    .filter((k) => k.ageDays >= rotationDays)
    .map((k) => ({ tenantId: k.tenantId, scope: k.scope, version: k.version, ageDays: k.ageDays, masterKeyId: k.masterKeyId, keyId: k._id }))
    .sort((a, b) => a.tenantId.localeCompare(b.tenantId) || (a.scope === b.scope ? b.ageDays - a.ageDays : a.scope === 'tenant' ? -1 : 1));
}

/** The tenant keys due, one line each; subject keys summed per tenant (they are one per data subject). */
export function formatDue(due: DueSeries[], rotationDays: number): string {
  if (due.length === 0) return `no data key is due for rotation (KEY_ROTATION_DAYS=${rotationDays})\n`;
  const lines = [`data keys due for rotation (current version at least ${rotationDays} days old):`];
  const tenants = [...new Set(due.map((d) => d.tenantId))];
  for (const t of tenants) {
    const tenantKey = due.find((d) => d.tenantId === t && d.scope === 'tenant');
    const subjects = due.filter((d) => d.tenantId === t && d.scope === 'subject');
    if (tenantKey) lines.push(`  ${t}  tenant key v${tenantKey.version}  ${tenantKey.ageDays} days  ${tenantKey.masterKeyId}  ${tenantKey.keyId}`);
    if (subjects.length) lines.push(`  ${t}  ${subjects.length} subject key(s), the oldest ${Math.max(...subjects.map((s) => s.ageDays))} days  (--subjects)`);
    lines.push(`    npm run keys:rotate-data -- --tenant ${t}${subjects.length ? ' --subjects' : ''}`);
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Progress

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

/**
 * A progress bar for the re-encryption job: one line rewritten in place on
 * a terminal (at most every 100 ms), or a line every `intervalMs` (and at
 * each phase change) otherwise. `done/total  percent  docs/s  phase collection`.
 */
export function progressBar(stream: ProgressStream, opts: { now?: () => number; intervalMs?: number; width?: number } = {}): { update(p: ReencryptProgress): void; finish(): void } {
  const now = opts.now ?? Date.now;
  const tty = !!stream.isTTY;
  const every = tty ? 100 : (opts.intervalMs ?? 5000);
  const width = opts.width ?? 24;
  let last = -Infinity;
  let lastPhase = '';
  let pending: ReencryptProgress | undefined;
  let drawn = false;
  let phaseStart = now();
  let phaseBase = 0;
  const line = (p: ReencryptProgress) => {
    const total = Math.max(p.total, p.done, 1);
    const ratio = Math.min(1, p.done / total);
    const seconds = Math.max((now() - phaseStart) / 1000, 0.001);
    const rate = Math.round(Math.max(0, p.done - phaseBase) / seconds);
    const filled = Math.round(ratio * width);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
    const label = p.phase === 'verify' ? 'verifying' : 're-encrypting';
    return `${bar} ${p.done}/${p.total} ${(ratio * 100).toFixed(1)}% ${rate} docs/s ${label} ${p.collection}`;
  };
  const draw = (p: ReencryptProgress) => {
    if (tty) stream.write(`\r\x1b[2K${line(p)}`);
    else stream.write(`${line(p)}\n`);
    drawn = true;
    pending = undefined;
    last = now();
  };
  return {
    update(p) {
      if (p.phase !== lastPhase) {
        if (lastPhase !== '' && pending) draw(pending);
        lastPhase = p.phase;
        phaseStart = now();
        phaseBase = p.done;
        if (!tty) {
          draw(p);
          return;
        }
      }
      pending = p;
      if (now() - last >= every) draw(p);
    },
    finish() {
      if (pending) draw(pending);
      if (tty && drawn) stream.write('\n');
    },
  };
}
