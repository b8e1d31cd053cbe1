// GET /api/v1/istio/sidecars: each workload group's Sidecar as meshscope wants
// it and what it did about it (written, current, skipped and why, would-write
// in dry run), plus the Sidecars it deleted. Registered by the analyzer app.
import type { FastifyPluginAsync } from 'fastify';
import type { SidecarWriter } from './writer.ts';

export interface SidecarRoutesDeps {
  writer: SidecarWriter;
}

const querystring = {
  type: 'object',
  additionalProperties: false,
  properties: {
    namespace: { type: 'string', description: 'only groups of this namespace' },
    state: { type: 'string', enum: ['pending', 'current', 'written', 'would-write', 'skipped', 'failed'] },
  },
} as const;

export const istioSidecarRoutes: FastifyPluginAsync<SidecarRoutesDeps> = async (app, { writer }) => {
  app.get<{ Querystring: { namespace?: string; state?: string } }>(
    '/api/v1/istio/sidecars',
    { schema: { tags: ['istio'], summary: 'Sidecar resources meshscope writes for each workload group, and the ones it skips', querystring } },
    async (req) => {
      const { groups, pruned } = writer.status();
      const { namespace, state } = req.query;
      return {
        dryRun: writer.dryRun,
        writes: writer.counters,
        groups: groups.filter((g) => (!namespace || g.namespace === namespace) && (!state || g.state === state)),
        pruned: pruned.filter((p) => !namespace || p.namespace === namespace),
      };
    },
  );
};
