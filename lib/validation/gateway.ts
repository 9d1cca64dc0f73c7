/**
 * The gateway's half of the typed inputs: Apollo plugin that gives the
 * supergraph's custom scalars the parsers of scalars.ts, so a malformed
 * email, phone number, country or date is refused at the front door, before
 * planning: BAD_USER_INPUT for a variable, GRAPHQL_VALIDATION_FAILED for a
 * literal (both masked to generic messages in production by
 * gateway/hardening/errors.ts).
 *
 * Without it the gateway's scalars accept anything, the subgraph refuses
 * the coercion with HTTP 400, and @apollo/gateway turns that into an
 * INTERNAL_SERVER_ERROR ("400: Bad Request") — a client mistake reported
 * and logged as our failure.
 *
 * The gateway only validates: values are forwarded to the subgraphs exactly
 * as the client sent them (the subgraphs parse again, with the same
 * parsers), and output values are left alone (`serialize` is untouched).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { isScalarType, valueFromASTUntyped, type GraphQLSchema } from 'graphql';
import { SCALARS } from './scalars';

/** Puts the validating parsers on every custom scalar of `schema` that {@link SCALARS} knows (in place). */
export function installScalarValidation(schema: GraphQLSchema): GraphQLSchema {
  for (const [name, parser] of Object.entries(SCALARS)) {
    const type = schema.getType(name);
    if (!type || !isScalarType(type)) continue;
    type.parseValue = (value) => {
      parser.parseValue(value);
      return value;
    };
    type.parseLiteral = (ast, variables) => {
      parser.parseLiteral(ast);
      // What the scalar's default parser returned before: the literal as written.
      return valueFromASTUntyped(ast, variables);
    };
  }
  return schema;
}

/**
 * Installs the scalar parsers on the gateway's API schema whenever it loads
 * or updates. Runs once per schema, before any request sees it; it never throws.
 */
export function scalarValidationPlugin<C extends object>(): ApolloServerPlugin<C> {
  return {
    async serverWillStart() {
      return {
        schemaDidLoadOrUpdate({ apiSchema }) {
          installScalarValidation(apiSchema);
        },
      };
    },
  };
}
