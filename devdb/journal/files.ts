/**
 * Internal to the journal: file names of a data folder and the few
 * durability primitives (vectored write of everything, directory fsync).
 */
import { open, readdir, type FileHandle } from 'node:fs/promises';

export const journalName = (gen: number): string => `journal-${String(gen).padStart(8, '0')}.log`;
export const snapshotName = (gen: number): string => `snapshot-${String(gen).padStart(8, '0')}.bson`;
export const TMP_SUFFIX = '.tmp';

const JOURNAL_RE = /^journal-(\d{8,})\.log$/;
const SNAPSHOT_RE = /^snapshot-(\d{8,})\.bson$/;
const SNAPSHOT_TMP_RE = /^snapshot-(\d{8,})\.bson\.tmp$/;

export interface FolderListing {
  journals: number[];
  snapshots: number[];
  /** Snapshot files never renamed into place: an interrupted compaction. */
  temps: string[];
}

/** Generations present in `dir`, ascending. Other files are ignored. */
export async function listFolder(dir: string): Promise<FolderListing> {
  const listing: FolderListing = { journals: [], snapshots: [], temps: [] };
  for (const name of await readdir(dir)) {
    let m: RegExpExecArray | null;
    if ((m = JOURNAL_RE.exec(name))) listing.journals.push(Number(m[1]));
    else if ((m = SNAPSHOT_RE.exec(name))) listing.snapshots.push(Number(m[1]));
    else if (SNAPSHOT_TMP_RE.test(name)) listing.temps.push(name);
  }
  listing.journals.sort((a, b) => a - b);
  listing.snapshots.sort((a, b) => a - b);
  return listing;
}

/** Makes renames, creations and unlinks in `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes every byte of `bufs` at `position` (pwritev, continuing after short
 * writes). Returns the number of bytes written.
 */
export async function writeAll(fh: FileHandle, bufs: Buffer[], position: number): Promise<number> {
  let total = 0;
  for (const b of bufs) total += b.length;
  let done = 0;
  let pending = bufs;
  while (done < total) {
    const { bytesWritten } = await fh.writev(pending, position + done);
    if (bytesWritten <= 0) throw new Error(`write made no progress at offset ${position + done}`);
    done += bytesWritten;
    if (done < total) pending = skipBytes(pending, bytesWritten);
  }
  return total;
}

function skipBytes(bufs: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (i < bufs.length && n >= bufs[i].length) n -= bufs[i++].length;
  const rest = bufs.slice(i);
  if (n > 0) rest[0] = rest[0].subarray(n);
  return rest;
}
