/**
 * Limits against hostile queries, as yoga plugins: depth, aliases, directives and tokens from
 * graphql-armor, and a cost that multiplies through paged lists from graphql-query-complexity
 * (armor's own cost rule counts a `products(first: 100)` like one object, so nested pages pass).
 * Every refusal is a GraphQLError with `extensions.code` QUERY_LIMIT_EXCEEDED and status 400,
 * produced before anything executes, so it is never cached.
 */
import { GraphQLError, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { directiveEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';

export interface QueryLimits {
  /** Deepest field nesting of an operation (introspection excluded). */
  maxDepth: number;
  /** Aliases in one document. */
  maxAliases: number;
  /** Directives in one document. */
  maxDirectives: number;
  /** Lexical tokens in one document: refused while parsing, before anything else reads it. */
  maxTokens: number;
  /**
   * Estimated cost of an operation: each field costs 1 plus what it selects, and a field marked
   * `@complexity(value, multipliers: ["first"])` multiplies by its page size.
   */
  maxCost: number;
}

export const LIMIT_CODE = 'QUERY_LIMIT_EXCEEDED';

/** Marks an error armor produced as a limit refusal: a client error (400) with a code to match on. */
function asLimitError(_context: unknown, error: GraphQLError): void {
  Object.assign(error.extensions, { code: LIMIT_CODE, http: { status: 400 } });
}

export function useQueryLimits({ maxDepth, maxAliases, maxDirectives, maxTokens, maxCost }: QueryLimits): Plugin[] {
  const armor = { exposeLimits: true, onReject: [asLimitError] };
  return [
    maxTokensPlugin({ ...armor, n: maxTokens }),
    maxDepthPlugin({ ...armor, n: maxDepth, ignoreIntrospection: true, flattenFragments: true }),
    maxAliasesPlugin({ ...armor, n: maxAliases }),
    maxDirectivesPlugin({ ...armor, n: maxDirectives }),
    useCostLimit(maxCost),
  ];
}

const estimators = [directiveEstimator({ name: 'complexity' }), simpleEstimator({ defaultComplexity: 1 })];

/**
 * The cost depends on the variables (`first: $n`), so it is checked when the operation is about
 * to execute, not at validation (whose results yoga caches per document).
 */
function useCostLimit(maxCost: number): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation || isIntrospection(operation.selectionSet.selections)) return;
      let cost: number;
      try {
        cost = getComplexity({
          schema: args.schema,
          query: args.document,
          variables: args.variableValues ?? undefined,
          operationName: args.operationName ?? undefined,
          estimators,
        });
      } catch {
        // Variables that do not coerce: execution refuses them with the precise error.
        return;
      }
      if (cost <= maxCost) return;
      setResultAndStopExecution({
        errors: [
          new GraphQLError(`Query cost limit of ${maxCost} exceeded, found ${cost}.`, {
            extensions: { code: LIMIT_CODE, http: { status: 400 } },
          }),
        ],
      });
    },
  };
}

function isIntrospection(selections: readonly { kind: string; name?: { value: string } }[]): boolean {
  return selections.every((selection) => selection.kind === 'Field' && selection.name!.value.startsWith('__'));
}
