/**
 * Bench child process: one target gateway, nothing else, so that its CPU
 * time is the gateway's alone. `BENCH_TARGET` is a JSON `TargetStart`
 * (bench/targets/types.ts); the target's module is loaded only here, so a
 * peer (Hive Gateway) never shares a process — or a graphql-js copy — with
 * the product.
 */
import { serveChild } from './child';
import type { TargetModule, TargetStart } from '../targets/types';

serveChild<{ url: string }>(async () => {
  const start = JSON.parse(process.env.BENCH_TARGET ?? 'null') as TargetStart | null;
  if (!start) throw new Error('BENCH_TARGET is required');
  const mod = (await import(`../targets/${start.module}`)) as TargetModule;
  const running = await mod.startTarget(start);
  return { info: { url: running.url }, stop: () => running.stop() };
});
