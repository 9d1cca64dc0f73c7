/**
 * devdb's durability layer: an append-only journal with group commit,
 * snapshots (compaction) and crash recovery. Internal to devdb: the engine
 * is its only user.
 *
 * On disk, in the data folder (mode 0700):
 * - `journal-<gen>.log`: a header record, then one COMMIT record per group
 *   commit, holding the batches appended while the previous fsync ran.
 * - `snapshot-<gen>.bson`: the whole state as of the start of journal
 *   `<gen>`: header, COMMIT records of ops in ~4 MiB chunks, END record.
 * - `snapshot-<gen>.bson.tmp`: a snapshot being written; ignored and deleted
 *   by recovery.
 * - `LOCK`: the owning process (see journal/lock.ts).
 * Record framing is in journal/format.ts.
 *
 * State = newest snapshot S (none = empty), then journals S, S+1, … in
 * order. compact() starts generation G+1: appends from then on go to
 * journal G+1 (created and fsynced before any of them is acknowledged), the
 * snapshot G+1 is written to a temp file, fsynced, renamed, the folder
 * fsynced, and only then are generation <= G files deleted. A crash at any
 * point leaves either (snapshot S, journals S..G+1) or (snapshot G+1,
 * journal G+1), both complete.
 *
 * Replay tolerance the engine must have: a batch appended before compact()
 * but written to the old journal is also inside the snapshot, which is
 * harmless; but if the engine applies a batch to memory in one tick and
 * calls append() in a later one, a compaction in between puts that batch
 * in the snapshot AND in the new journal. Apply and append in the same
 * synchronous step, or make replay idempotent (createColl of an existing
 * collection, dropColl of a missing one, createIndex of an identical index:
 * no-ops when replaying).
 */
import { mkdir, open, rename, truncate, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { JournalBatch, JournalOp } from './journal-types';
import { encode } from './bson-options';
import { JournalError } from './journal/errors';
import { TMP_SUFFIX, fsyncDir, journalName, listFolder, snapshotName, writeAll } from './journal/files';
import { RecordType, encodeBatch, endRecord, frameRecord, headerRecord } from './journal/format';
import { DirLock } from './journal/lock';
import { readFolder, removeObsolete } from './journal/recover';

export { JournalError, type JournalErrorCode } from './journal/errors';

/** The durable steps of compact(), in order. */
export type CompactionStep =
  /** Journal G+1 exists and is fsynced; everything appended before compact() is durable in journal G. */
  | 'rotated'
  /** snapshot-(G+1).bson.tmp is written and fsynced. */
  | 'snapshotWritten'
  /** The snapshot is renamed into place and the folder fsynced: generation G+1 is the state. */
  | 'snapshotInstalled'
  /** Generation <= G files are deleted. */
  | 'cleaned';

export interface JournalOptions {
  /** Folder for journal and snapshot files; created (mode 0700) if missing. */
  dir: string;
  /**
   * Compact when the live journal grows beyond this many bytes.
   * @default 64 MiB
   */
  compactBytes?: number;
  /**
   * fsync before acknowledging. Only tests of the format may turn it off.
   * @default true
   */
  fsync?: boolean;
  /**
   * Called after each durable step of compact(), awaited before the next
   * step. For tests: copying the folder here captures what a crash at that
   * point would leave on disk. Throwing makes compact() reject; the files
   * stay consistent.
   */
  onCompactionStep?: (step: CompactionStep) => void | Promise<void>;
}

export interface JournalStats {
  /** Generation appends currently go to. */
  gen: number;
  /** Approximate size of the live journal, including appends not yet flushed. */
  liveBytes: number;
  appends: number;
  /** Group commits written (one write + one fdatasync each). */
  flushes: number;
  compactions: number;
  /** Bytes of a torn tail cut from the live journal when it was opened (0 if none). */
  tornBytesAtOpen: number;
}

export interface OpenedJournal {
  journal: Journal;
  /**
   * What to replay, in order: the snapshot's ops (in chunks, which are not
   * atomic units, merely a way to stream a big state), then every
   * journal batch after it. A plain array: the engine holds the whole state
   * in memory anyway.
   */
  recovered: JournalBatch[];
}

const DEFAULT_COMPACT_BYTES = 64 * 1024 * 1024;
/** Upper bound of one group commit record; more waits for the next flush. */
const MAX_GROUP_BYTES = 64 * 1024 * 1024;
/** Target size of one snapshot record. */
const SNAPSHOT_CHUNK_BYTES = 4 * 1024 * 1024;
const JOURNAL_HEADER_BYTES = (gen: number): number => headerRecord('devdb-journal', gen).length;

interface AppendItem {
  kind: 'append';
  bytes: Buffer;
  resolve: () => void;
  reject: (err: unknown) => void;
}
interface RotateItem {
  kind: 'rotate';
  gen: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}
type QueueItem = AppendItem | RotateItem;

export class Journal {
  private readonly dir: string;
  private readonly compactBytes: number;
  private readonly fsync: boolean;
  private readonly onStep: JournalOptions['onCompactionStep'];
  private readonly lock: DirLock;

  /** The file the flush loop writes to, and where. */
  private fh: FileHandle;
  private position: number;
  /** Generation new appends go to (one ahead of the file while a rotation is queued). */
  private gen: number;
  private liveBytes: number;

  private queue: QueueItem[] = [];
  private flushing: Promise<void> | null = null;
  private compaction: Promise<void> | null = null;
  private failure: JournalError | null = null;
  private closing: Promise<void> | null = null;
  private readonly counters = { appends: 0, flushes: 0, compactions: 0, tornBytesAtOpen: 0 };

  private constructor(init: {
    dir: string;
    options: JournalOptions;
    lock: DirLock;
    fh: FileHandle;
    position: number;
    gen: number;
    tornBytes: number;
  }) {
    this.dir = init.dir;
    this.compactBytes = init.options.compactBytes ?? DEFAULT_COMPACT_BYTES;
    this.fsync = init.options.fsync ?? true;
    this.onStep = init.options.onCompactionStep;
    this.lock = init.lock;
    this.fh = init.fh;
    this.position = init.position;
    this.gen = init.gen;
    this.liveBytes = init.position;
    this.counters.tornBytesAtOpen = init.tornBytes;
  }

  /**
   * Opens (or creates) the data folder, recovers, truncates a torn tail,
   * and returns the journal ready for appends plus what to replay. Takes
   * the folder's lock file.
   *
   * Rejects with a JournalError: `JOURNAL_LOCKED` (another live process, or
   * this one, has it open), `JOURNAL_CORRUPT` (damage other than a torn
   * tail; nothing in the folder was changed), `JOURNAL_FORMAT`.
   */
  static async open(options: JournalOptions): Promise<OpenedJournal> {
    const dir = resolve(options.dir);
    const fsync = options.fsync ?? true;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const lock = await DirLock.acquire(dir);
    let fh: FileHandle | undefined;
    try {
      const state = await readFolder(dir);
      const path = join(dir, journalName(state.liveGen));
      let position = state.liveValidEnd;
      if (state.tornBytes > 0) {
        await truncate(path, position);
      }
      fh = await open(path, state.liveExists ? 'r+' : 'wx', 0o600);
      if (position === 0) {
        const header = headerRecord('devdb-journal', state.liveGen);
        position = await writeAll(fh, [header], 0);
      }
      if (fsync) {
        await fh.sync();
        if (!state.liveExists) await fsyncDir(dir);
      }
      await removeObsolete(dir, state.obsolete, fsync);
      const journal = new Journal({ dir, options, lock, fh, position, gen: state.liveGen, tornBytes: state.tornBytes });
      return { journal, recovered: state.batches };
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await lock.release().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Appends one atomic batch; resolves once it is durable (after
   * fdatasync). Calls made while a flush runs are group-committed: one
   * write and one fdatasync for all of them. Promises resolve in call order.
   *
   * The batch is serialised during the call, so the caller may mutate the
   * ops afterwards. Rejects (and every later call too) with
   * `JOURNAL_FAILED` once a write or fsync has failed: after a failed fsync
   * the kernel's view of the file is unknowable, so the journal stops
   * rather than retry; the server should stop taking writes. Rejects with
   * `JOURNAL_CLOSED` after close().
   */
  append(batch: JournalBatch): Promise<void> {
    if (this.closing) return Promise.reject(new JournalError('JOURNAL_CLOSED', 'journal is closed'));
    if (this.failure) return Promise.reject(this.failure);
    let bytes: Buffer;
    try {
      bytes = encodeBatch(batch);
    } catch (err) {
      return Promise.reject(err);
    }
    this.counters.appends++;
    this.liveBytes += bytes.length;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'append', bytes, resolve, reject });
      this.kick();
    });
  }

  /** True when the live journal is larger than compactBytes and no compaction is running. */
  needsCompaction(): boolean {
    return this.compaction === null && this.closing === null && this.failure === null && this.liveBytes > this.compactBytes;
  }

  /**
   * Writes a snapshot of the whole state and drops the journal it replaces.
   *
   * `dump` is called synchronously, once, before compact() returns: it must
   * yield every op that rebuilds the current state from empty (createColl,
   * createIndex, put …). Its ops are serialised right away (this blocks
   * the event loop for the time it takes to encode the state), so the
   * snapshot is the state at the call, and appends made after the call go
   * to the new generation. Throwing from `dump` makes compact() reject with
   * that error and changes nothing.
   *
   * While a compaction runs, a second call returns the running one's
   * promise without calling `dump`.
   */
  compact(dump: () => Iterable<JournalOp>): Promise<void> {
    if (this.closing) return Promise.reject(new JournalError('JOURNAL_CLOSED', 'journal is closed'));
    if (this.failure) return Promise.reject(this.failure);
    if (this.compaction) return this.compaction;
    const gen = this.gen + 1;
    let snapshot: Buffer[];
    try {
      snapshot = encodeSnapshot(gen, dump());
    } catch (err) {
      return Promise.reject(err);
    }
    this.gen = gen;
    this.liveBytes = JOURNAL_HEADER_BYTES(gen);
    const rotated = new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'rotate', gen, resolve, reject });
    });
    rotated.catch(() => undefined); // observed by finishCompaction
    this.kick();
    this.compaction = this.finishCompaction(gen, snapshot, rotated);
    return this.compaction;
  }

  /** Waits for a running compaction and pending appends, closes the files and releases the lock. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.compaction?.catch(() => undefined);
      while (this.flushing) await this.flushing;
      await this.fh.close().catch(() => undefined);
      await this.lock.release();
    })();
    return this.closing;
  }

  /** Counters for tests and the server's stats(). */
  stats(): JournalStats {
    return { gen: this.gen, liveBytes: this.liveBytes, ...this.counters };
  }

  private async finishCompaction(gen: number, snapshot: Buffer[], rotated: Promise<void>): Promise<void> {
    const tmp = join(this.dir, snapshotName(gen) + TMP_SUFFIX);
    try {
      await rotated;
      await this.onStep?.('rotated');

      const fh = await open(tmp, 'w', 0o600);
      try {
        await writeAll(fh, snapshot, 0);
        if (this.fsync) await fh.sync();
      } finally {
        await fh.close();
      }
      await this.onStep?.('snapshotWritten');

      await renameDurably(this.dir, tmp, snapshotName(gen), this.fsync);
      await this.onStep?.('snapshotInstalled');

      const listing = await listFolder(this.dir);
      await removeObsolete(
        this.dir,
        [...listing.journals.filter((g) => g < gen).map(journalName), ...listing.snapshots.filter((g) => g < gen).map(snapshotName)],
        this.fsync,
      );
      this.counters.compactions++;
      await this.onStep?.('cleaned');
    } catch (err) {
      // A leftover temp file is harmless (recovery ignores it); remove it when we can.
      await removeObsolete(this.dir, [snapshotName(gen) + TMP_SUFFIX], false).catch(() => undefined);
      throw err;
    } finally {
      this.compaction = null;
    }
  }

  private kick(): void {
    this.flushing ??= this.drain();
  }

  /** The single writer: group commits and generation switches, strictly in queue order. */
  private async drain(): Promise<void> {
    // Let every append issued in this turn of the event loop join the first group.
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (;;) {
      if (this.queue.length === 0) {
        // Cleared synchronously with the emptiness check, so a later append always restarts the loop.
        this.flushing = null;
        return;
      }
      const head = this.queue[0];
      if (head.kind === 'rotate') {
        this.queue.shift();
        try {
          await this.rotate(head.gen);
        } catch (err) {
          this.fail(err, [head]);
          return;
        }
        head.resolve();
        continue;
      }
      let n = 0;
      let bytes = 0;
      while (n < this.queue.length && this.queue[n].kind === 'append' && (n === 0 || bytes < MAX_GROUP_BYTES)) {
        bytes += (this.queue[n] as AppendItem).bytes.length;
        n++;
      }
      const group = this.queue.splice(0, n) as AppendItem[];
      try {
        this.position += await writeAll(this.fh, frameRecord(RecordType.Commit, group.map((g) => g.bytes)), this.position);
        if (this.fsync) await this.fh.datasync();
      } catch (err) {
        this.fail(err, group);
        return;
      }
      this.counters.flushes++;
      for (const item of group) item.resolve();
    }
  }

  /** Creates journal `gen` durably, then switches the writer to it. The old file is complete: every group was fsynced. */
  private async rotate(gen: number): Promise<void> {
    const fh = await open(join(this.dir, journalName(gen)), 'wx', 0o600);
    let position: number;
    try {
      position = await writeAll(fh, [headerRecord('devdb-journal', gen)], 0);
      if (this.fsync) {
        await fh.sync();
        await fsyncDir(this.dir);
      }
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
    const old = this.fh;
    this.fh = fh;
    this.position = position;
    await old.close().catch(() => undefined);
  }

  /** Fail-stop: reject what was in flight and everything queued, and refuse all later work. */
  private fail(err: unknown, inFlight: QueueItem[]): void {
    const reason = err instanceof Error ? err.message : String(err);
    this.failure = new JournalError('JOURNAL_FAILED', `journal write failed, no further writes accepted: ${reason}`, { cause: err });
    const failed = [...inFlight, ...this.queue];
    this.queue = [];
    this.flushing = null;
    for (const item of failed) item.reject(this.failure);
  }
}

async function renameDurably(dir: string, from: string, to: string, fsync: boolean): Promise<void> {
  await rename(from, join(dir, to));
  if (fsync) await fsyncDir(dir);
}

/** The snapshot file's bytes: header, ops in chunks of about SNAPSHOT_CHUNK_BYTES, end record. */
function encodeSnapshot(gen: number, ops: Iterable<JournalOp>): Buffer[] {
  const out: Buffer[] = [headerRecord('devdb-snapshot', gen)];
  let chunk: Uint8Array[] = [];
  let chunkBytes = 0;
  let records = 0;
  let total = 0;
  const flushChunk = (): void => {
    const count = Buffer.allocUnsafe(4);
    count.writeUInt32LE(chunk.length, 0);
    out.push(Buffer.concat(frameRecord(RecordType.Commit, [count, ...chunk])));
    records++;
    chunk = [];
    chunkBytes = 0;
  };
  for (const op of ops) {
    const doc = encode(op);
    chunk.push(doc);
    chunkBytes += doc.length;
    total++;
    if (chunkBytes >= SNAPSHOT_CHUNK_BYTES) flushChunk();
  }
  if (chunk.length) flushChunk();
  out.push(endRecord(records, total));
  return out;
}
