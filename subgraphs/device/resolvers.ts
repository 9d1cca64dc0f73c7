/**
 * Resolvers: thin. Arguments go to the service or a loader, results come
 * back as plain records. References and per-shipment fields go through the
 * request's loaders, scoped to the caller's tenant.
 */
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import type { AuditSink } from '../../lib/audit';
import { reference, representationField, tenantCallerOf } from '../../lib/caller';
import type { RequestContext } from '../../lib/context';
import { pageRequest, toConnection } from '../../lib/pagination';
import type { DeviceLoaders } from './loaders';
import type { DeviceModels } from './model';
import { type AlarmRule, type RecordSensorReadingInput, recordSensorReading } from './readings';
import { type RegisterDeviceInput, type SensorReading, type WriteContext, listDevices, registerDevice } from './service';

type Ctx = RequestContext<DeviceLoaders>;

export interface ResolverDeps {
  models: DeviceModels;
  audit: AuditSink;
  now: () => Date;
  alarmRule: AlarmRule;
}

interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export function createResolvers(deps: ResolverDeps): GraphQLResolverMap<Ctx> {
  const { models } = deps;
  const writeContext = (ctx: Ctx): WriteContext => ({ caller: tenantCallerOf(ctx.principal), audit: ctx.audit, requestId: ctx.requestId, now: deps.now });

  return {
    Query: {
      device: (_: unknown, { id }: { id: string }, ctx: Ctx) => ctx.loaders.deviceById.load(id),
      devices: (_: unknown, { first, after }: PageArgs, ctx: Ctx) => listDevices(models, ctx.scope, pageRequest(first, after)),
    },
    Mutation: {
      registerDevice: (_: unknown, { input }: { input: RegisterDeviceInput }, ctx: Ctx) => registerDevice(models, writeContext(ctx), input),
      recordSensorReading: (_: unknown, { input }: { input: RecordSensorReadingInput }, ctx: Ctx) =>
        recordSensorReading(models, writeContext(ctx), { alarmRule: deps.alarmRule }, input),
    },
    Device: {
      // `_Any` admits any JSON: only a short string id (never an operator object) reaches the loader's `$in`.
      __resolveReference: reference((ref, ctx: Ctx) => ctx.loaders.deviceById.load(representationField(ref, 'Device', 'id'))),
    },
    Shipment: {
      // Shipments are owned by the shipment subgraph: a reference is all this one needs (its id feeds the loaders' `$in`).
      __resolveReference: reference((ref) => ({ id: representationField(ref, 'Shipment', 'id') })),
      devices: (shipment: { id: string }, _: unknown, ctx: Ctx) => ctx.loaders.devicesByShipment.load(shipment.id),
      readings: async (shipment: { id: string }, { first, after }: PageArgs, ctx: Ctx) => {
        const page = pageRequest(first, after);
        const { items, totalCount } = await ctx.loaders.readingPage.load({ shipmentId: shipment.id, ...page });
        return toConnection(items, page.first, (r: SensorReading) => ({ k: r.recordedAt.getTime(), id: r.id }), totalCount);
      },
      latestReading: async (shipment: { id: string }, _: unknown, ctx: Ctx) => {
        const { items } = await ctx.loaders.readingPage.load({ shipmentId: shipment.id, first: 1 });
        return items[0] ?? null;
      },
    },
  };
}
