/**
 * Apollo Server plugins shared by the gateway and the subgraphs: unexpected
 * errors are logged (with the request id, never variables), and every error
 * sent to a client carries the request id so support can find the log line.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { Logger } from './logger';

export interface HasRequestMeta {
  requestId: string;
  logger: Logger;
}

export function errorReportingPlugin<C extends HasRequestMeta>(): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        // Runs once per request with errors; throwing here would replace the response, so it never throws.
        async didEncounterErrors({ errors, contextValue }) {
          for (const err of errors) {
            const code = err.extensions?.code;
            if (!code || code === 'INTERNAL_SERVER_ERROR') {
              contextValue.logger.error({ err: err.originalError ?? err, path: err.path }, 'request failed');
            }
          }
        },
        // Runs before the response is serialised: stamps the request id on every error.
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single') return;
          for (const e of response.body.singleResult.errors ?? []) {
            (e as { extensions?: Record<string, unknown> }).extensions = { ...e.extensions, requestId: contextValue.requestId };
          }
        },
      };
    },
  };
}

/**
 * `Cache-Control: no-store` on every GraphQL response, as Apollo Server's
 * cache-control plugin answers when no field carries a cache hint — for
 * servers that switch that plugin off (the subgraphs: lib/subgraph.ts).
 */
export function noStorePlugin<C extends BaseContext>(): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          response.http.headers.set('cache-control', 'no-store');
        },
      };
    },
  };
}
