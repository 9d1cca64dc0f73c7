/**
 * The bench-only switch `security: 'off'` (bench/README.md): production
 * refuses it at boot, whether production comes from the options or from
 * APP_ENV, for the gateway and for every subgraph.
 */
import { createGateway, type GatewayOptions } from '../../gateway/server';
import { createSubgraphServer, type SubgraphOptions } from '../../lib/subgraph';

const gatewayOff = (appEnv: GatewayOptions['appEnv']) => createGateway({ appEnv, security: 'off' } as GatewayOptions);
const subgraphOff = (appEnv: SubgraphOptions<unknown>['appEnv']) => createSubgraphServer({ name: 'shipment', appEnv, security: 'off' } as SubgraphOptions<unknown>);

describe("security 'off'", () => {
  const saved = process.env.APP_ENV;
  afterEach(() => {
    if (saved === undefined) delete process.env.APP_ENV;
    else process.env.APP_ENV = saved;
  });

  it('is refused by a production gateway and a production subgraph', async () => {
    await expect(gatewayOff('production')).rejects.toThrow(/refused in production/);
    await expect(subgraphOff('production')).rejects.toThrow(/refused in production/);
  });

  it('is refused when APP_ENV says production, whatever the options say', async () => {
    process.env.APP_ENV = 'production';
    await expect(gatewayOff('staging')).rejects.toThrow(/refused in production/);
    await expect(subgraphOff('development')).rejects.toThrow(/refused in production/);
  });
});
