/**
 * Bench internals: the runner's child processes and how they talk. Every
 * server under test runs in a child of its own (a target gateway, or the
 * backend with the database and the subgraphs) so that its CPU time is its
 * own; the runner asks each one over IPC for `process.cpuUsage()` and, for
 * the backend, the database counters.
 *
 * Child side: `serveChild(start)`. Parent side: `spawnChild(...)`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { openSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

/** What a child answers when asked. */
export interface ChildProbe {
  /** `process.cpuUsage()` of the child: user and system µs since it started. */
  cpu: NodeJS.CpuUsage;
  /** Anything else the child measures (the backend: devdb counters). */
  extra?: unknown;
}

interface Ready {
  type: 'ready';
  info: unknown;
}
interface Reply {
  type: 'reply';
  id: number;
  probe: ChildProbe;
}
interface Failed {
  type: 'failed';
  message: string;
}
type FromChild = Ready | Reply | Failed;
type ToChild = { type: 'probe'; id: number } | { type: 'profile-start'; id: number } | { type: 'profile-stop'; id: number; file: string } | { type: 'stop' };

export interface Started<Info> {
  info: Info;
  /** Extra measurements for `ChildProbe.extra`. */
  probe?: () => unknown;
  stop(): Promise<void>;
}

/**
 * Runs in the child: starts the server, reports `info` to the parent, then
 * answers probes until told to stop (or the parent goes away). A failure to
 * start is reported and the child exits 1.
 */
export function serveChild<Info>(start: () => Promise<Started<Info>>): void {
  const send = (m: FromChild) => process.send?.(m);
  let stopping = false;
  start().then(
    (started) => {
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        await started.stop().catch(() => undefined);
        process.exit(0);
      };
      // CPU profiles of the measured rounds only (start-up and warm-up left out), through the inspector.
      let session: Session | undefined;
      const post = (method: string, params?: object) =>
        new Promise<unknown>((resolve, reject) => session!.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
      const reply = (id: number) => send({ type: 'reply', id, probe: { cpu: process.cpuUsage(), extra: started.probe?.() } });
      process.on('message', (m: ToChild) => {
        if (m.type === 'probe') reply(m.id);
        else if (m.type === 'profile-start') {
          session = new Session();
          session.connect();
          void post('Profiler.enable')
            .then(() => post('Profiler.setSamplingInterval', { interval: 1000 }))
            .then(() => post('Profiler.start'))
            .then(() => reply(m.id));
        } else if (m.type === 'profile-stop') {
          if (!session) return reply(m.id);
          void post('Profiler.stop').then((res) => {
            writeFileSync(m.file, JSON.stringify((res as { profile: unknown }).profile));
            session!.disconnect();
            session = undefined;
            reply(m.id);
          });
        } else if (m.type === 'stop') void stop();
      });
      process.on('disconnect', () => void stop());
      send({ type: 'ready', info: started.info });
    },
    (err: unknown) => {
      send({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      process.exitCode = 1;
      setTimeout(() => process.exit(1), 100);
    },
  );
}

export interface ChildHandle<Info> {
  name: string;
  pid: number;
  info: Info;
  probe(): Promise<ChildProbe>;
  /** Starts sampling the child's CPU (1 ms interval). */
  startProfile(): Promise<void>;
  /** Stops sampling and writes the V8 CPU profile to `file`. */
  stopProfile(file: string): Promise<void>;
  /** Asks the child to stop and waits for it to exit (killed after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<void>;
}

export interface SpawnOptions {
  /** Shown in errors. */
  name: string;
  /** The child's entry (a .ts file, run through tsx). */
  entry: string;
  args?: string[];
  env: NodeJS.ProcessEnv;
  /** The child's stdout and stderr go here. */
  logFile: string;
  /** @default 120000 */
  startTimeoutMs?: number;
}

/** Starts a child and resolves once it reported ready. */
export function spawnChild<Info>(opts: SpawnOptions): Promise<ChildHandle<Info>> {
  const log = openSync(opts.logFile, 'a');
  const execArgv = ['--import', 'tsx'];
  const child: ChildProcess = fork(opts.entry, opts.args ?? [], { execArgv, env: opts.env, stdio: ['ignore', log, log, 'ipc'] });
  let nextId = 1;
  const pending = new Map<number, (p: ChildProbe) => void>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${opts.name} did not start within ${opts.startTimeoutMs ?? 120_000} ms (log: ${opts.logFile})`));
    }, opts.startTimeoutMs ?? 120_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${opts.name} exited with ${code} before it was ready (log: ${opts.logFile})`));
    });
    child.on('message', (m: FromChild) => {
      if (m.type === 'failed') {
        clearTimeout(timer);
        reject(new Error(`${opts.name} failed to start: ${m.message}`));
      } else if (m.type === 'reply') {
        pending.get(m.id)?.(m.probe);
        pending.delete(m.id);
      } else if (m.type === 'ready') {
        clearTimeout(timer);
        const ask = (msg: { type: 'probe' } | { type: 'profile-start' } | { type: 'profile-stop'; file: string }) =>
          new Promise<ChildProbe>((res, rej) => {
            if (!child.connected) return rej(new Error(`${opts.name} is gone`));
            const id = nextId++;
            pending.set(id, res);
            child.send({ ...msg, id } as ToChild);
          });
        resolve({
          name: opts.name,
          pid: child.pid!,
          info: m.info as Info,
          probe: () => ask({ type: 'probe' }),
          startProfile: async () => void (await ask({ type: 'profile-start' })),
          stopProfile: async (file) => void (await ask({ type: 'profile-stop', file })),
          async stop(timeoutMs = 15_000) {
            if (child.exitCode !== null || child.signalCode !== null) return;
            if (child.connected) child.send({ type: 'stop' } satisfies ToChild);
            const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
            await exited;
            clearTimeout(killer);
          },
        });
      }
    });
  });
}
