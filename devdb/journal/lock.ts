/**
 * Internal to the journal: the data folder's lock file.
 *
 * Node has no flock(), so the lock is a file `LOCK` holding the owner's pid
 * and process start time. It is created atomically with its content (write a
 * private file, then link() it to `LOCK`, which fails if `LOCK` exists). A
 * lock whose owner is gone (SIGKILL, crash) is stale and taken over; the
 * start time tells a reused pid from the original owner on Linux.
 *
 * Known limit: two processes taking over the same stale lock at the same
 * instant can both succeed. devdb is a dev/test store; that race needs two
 * servers started on one folder within microseconds after a crash.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { JournalError } from './errors';

export const LOCK_FILE = 'LOCK';

interface LockInfo {
  pid: number;
  /** Clock ticks since boot at which the process started (Linux), or null. */
  start: number | null;
  host: string;
}

function processStart(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : null;
  } catch {
    return null;
  }
}

function isAlive(info: LockInfo): boolean {
  if (info.host !== hostname()) return true; // cannot tell: assume held
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  if (info.start === null) return true;
  const start = processStart(info.pid);
  return start === null || start === info.start;
}

function parse(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid !== 'number' || typeof v.host !== 'string') return null;
    return { pid: v.pid, start: typeof v.start === 'number' ? v.start : null, host: v.host };
  } catch {
    return null;
  }
}

export class DirLock {
  private constructor(private readonly path: string) {}

  /** Takes the lock on `dir`, or throws JOURNAL_LOCKED naming the holder. */
  static async acquire(dir: string): Promise<DirLock> {
    const path = join(dir, LOCK_FILE);
    const mine: LockInfo = { pid: process.pid, start: processStart(process.pid), host: hostname() };
    const draft = join(dir, `${LOCK_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.new`);
    await writeFile(draft, JSON.stringify(mine) + '\n', { mode: 0o600 });
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await link(draft, path);
          return new DirLock(path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        let holder: LockInfo | null;
        try {
          holder = parse(await readFile(path, 'utf8'));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
          throw err;
        }
        // Always written whole via link(), so unreadable content is not ours: a stale leftover.
        if (holder && isAlive(holder)) {
          const who = holder.pid === process.pid && holder.host === mine.host ? 'this process' : `process ${holder.pid} on ${holder.host}`;
          const hint = who === 'this process' ? '' : ` If that process is gone (e.g. a recreated container), delete ${path}.`;
          throw new JournalError('JOURNAL_LOCKED', `devdb data folder ${dir} is in use by ${who}; stop it first or use another dataDir.${hint}`);
        }
        await unlink(path).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
      }
      throw new JournalError('JOURNAL_LOCKED', `could not take the lock on devdb data folder ${dir}`);
    } finally {
      await unlink(draft).catch(() => undefined);
    }
  }

  async release(): Promise<void> {
    await unlink(this.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}
