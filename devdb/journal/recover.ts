/**
 * Internal to the journal: reading a data folder back. `readFolder` only
 * reads and validates (a folder it rejects is left untouched); `repairFolder`
 * then makes the few changes recovery needs (truncate a torn tail, delete
 * superseded and temporary files).
 *
 * Which files count: the newest snapshot S (generation 0 = none = empty
 * state), then every journal with generation >= S, which must be contiguous.
 * Older files were superseded by S and are deleted.
 */
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { JournalBatch } from '../journal-types';
import { JournalError } from './errors';
import { fsyncDir, journalName, listFolder, snapshotName } from './files';
import { FORMAT_VERSION, RecordType, decodeCommit, decodeDocBody, scanRecords, type FileHeader, type RawRecord } from './format';

export interface FolderState {
  batches: JournalBatch[];
  /** The generation new appends go to: the newest journal, or the first one to create. */
  liveGen: number;
  /** Whether journal-<liveGen> exists. */
  liveExists: boolean;
  /** Length of the intact prefix of the live journal (0 if missing or empty). */
  liveValidEnd: number;
  /** Bytes of a torn tail to cut from the live journal (0 if none). */
  tornBytes: number;
  /** Files to delete once the state is accepted. */
  obsolete: string[];
}

const corrupt = (message: string, cause?: unknown): JournalError =>
  new JournalError('JOURNAL_CORRUPT', message, cause === undefined ? undefined : { cause });

function checkHeader(file: string, rec: RawRecord | undefined, format: FileHeader['format'], gen: number): void {
  if (!rec || rec.type !== RecordType.Header) throw corrupt(`${file}: missing file header`);
  let header: Record<string, unknown>;
  try {
    header = decodeDocBody(rec.body);
  } catch (err) {
    throw corrupt(`${file}: unreadable file header`, err);
  }
  if (header.format !== format) throw corrupt(`${file}: not a ${format} file`);
  if (header.version !== FORMAT_VERSION) {
    throw new JournalError(
      'JOURNAL_FORMAT',
      `${file}: format version ${String(header.version)} is not supported (this devdb reads version ${FORMAT_VERSION})`,
    );
  }
  if (header.gen !== gen) throw corrupt(`${file}: header says generation ${String(header.gen)}, file name says ${gen}`);
}

function commitBatches(file: string, rec: RawRecord, into: JournalBatch[]): number {
  if (rec.type !== RecordType.Commit) throw corrupt(`${file}: unexpected record type ${rec.type} at byte ${rec.offset}`);
  let batches: JournalBatch[];
  try {
    batches = decodeCommit(rec.body);
  } catch (err) {
    throw corrupt(`${file}: undecodable record at byte ${rec.offset}`, err);
  }
  let ops = 0;
  for (const b of batches) {
    into.push(b);
    ops += b.length;
  }
  return ops;
}

/** A snapshot was fsynced before its rename, so anything short of perfect is damage. */
async function readSnapshot(dir: string, gen: number, into: JournalBatch[]): Promise<void> {
  const file = snapshotName(gen);
  const scan = scanRecords(await readFile(join(dir, file)));
  if (scan.kind !== 'clean') {
    const at = scan.kind === 'torn' ? scan.validEnd : scan.badAt;
    throw corrupt(`${file}: damaged at byte ${at}; a snapshot is only installed complete, so the file was changed afterwards`);
  }
  const { records } = scan;
  checkHeader(file, records[0], 'devdb-snapshot', gen);
  const end = records[records.length - 1];
  if (records.length < 2 || end.type !== RecordType.End) throw corrupt(`${file}: missing end record`);
  let ops = 0;
  for (const rec of records.slice(1, -1)) ops += commitBatches(file, rec, into);
  let trailer: Record<string, unknown>;
  try {
    trailer = decodeDocBody(end.body);
  } catch (err) {
    throw corrupt(`${file}: unreadable end record`, err);
  }
  if (trailer.records !== records.length - 2 || trailer.ops !== ops) throw corrupt(`${file}: end record does not match the content`);
}

export async function readFolder(dir: string): Promise<FolderState> {
  const listing = await listFolder(dir);
  const snap = listing.snapshots.length ? listing.snapshots[listing.snapshots.length - 1] : 0;
  const first = snap > 0 ? snap : 1;
  const journals = listing.journals.filter((g) => g >= snap);
  journals.forEach((g, i) => {
    if (g !== first + i) {
      throw corrupt(`${journalName(first + i)} is missing (found ${journalName(g)}): writes between them are lost`);
    }
  });

  const batches: JournalBatch[] = [];
  if (snap > 0) await readSnapshot(dir, snap, batches);

  let liveValidEnd = 0;
  let tornBytes = 0;
  for (const [i, gen] of journals.entries()) {
    const file = journalName(gen);
    const live = i === journals.length - 1;
    const buf = await readFile(join(dir, file));
    const scan = scanRecords(buf);
    if (scan.kind === 'corrupt') {
      throw corrupt(
        `${file}: damaged record at byte ${scan.badAt} followed by intact records from byte ${scan.resumesAt}; ` +
          'refusing to open rather than drop them. Move the folder aside or restore a copy.',
      );
    }
    // A journal is complete and fsynced before the next generation is created.
    if (scan.kind === 'torn' && !live) throw corrupt(`${file}: incomplete record at byte ${scan.validEnd} in a superseded journal`);
    if (scan.records.length === 0 && !live) throw corrupt(`${file}: empty superseded journal`);
    if (scan.records.length > 0) checkHeader(file, scan.records[0], 'devdb-journal', gen);
    for (const rec of scan.records.slice(1)) commitBatches(file, rec, batches);
    if (live) {
      liveValidEnd = scan.validEnd;
      tornBytes = buf.length - scan.validEnd;
    }
  }

  const obsolete = [
    ...listing.temps,
    ...listing.journals.filter((g) => g < snap).map(journalName),
    ...listing.snapshots.filter((g) => g < snap).map(snapshotName),
  ];
  return {
    batches,
    liveGen: journals.length ? journals[journals.length - 1] : first,
    liveExists: journals.length > 0,
    liveValidEnd,
    tornBytes,
    obsolete,
  };
}

/** Deletes superseded and temporary files (the torn tail is cut by the caller, which holds the live file open). */
export async function removeObsolete(dir: string, names: readonly string[], fsync: boolean): Promise<void> {
  if (names.length === 0) return;
  for (const name of names) {
    await unlink(join(dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
  if (fsync) await fsyncDir(dir);
}
