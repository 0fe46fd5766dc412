/**
 * Random valid GraphQL operations generated from a schema, as fast-check arbitraries. The walk
 * is generic: it reads the schema's fields, arguments, interfaces and unions, and takes only
 * the argument values and list sizes from its options. Generated documents use aliases, named
 * fragments (spread inside each other), inline fragments with and without type conditions,
 * `@include`/`@skip`, variables, and documents of several operations chosen by name; fast-check
 * generates a plan of one (what to select, where) and query-plan.ts prints it. Depth and list
 * sizes are bounded while generating; what the server's limits count through fragments is
 * checked with the server's own rules afterwards.
 */
import fc from 'fast-check';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { directiveEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';
import {
  Lexer,
  Source,
  TokenKind,
  getNamedType,
  isAbstractType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  parse,
  validate,
  type DocumentNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import type { QueryLimits } from '../../server/limits.ts';
import { fieldOf, printPlan, type ArgChoice, type Condition, type DocumentPlan, type FieldSelection, type FragmentPlan, type GeneratedOperation, type Selection } from './query-plan.ts';
import { privateCoordinates } from './private-fields.ts';

export type { GeneratedOperation } from './query-plan.ts';

export interface GeneratorOptions {
  /** Deepest field nesting generated (fragments flattened). */
  depth: number;
  /** The server's limits: documents outside them are not generated (the same rules check them). */
  limits: QueryLimits;
  /**
   * Values of arguments, by coordinate (`Query.product.id`). A required argument without one
   * takes a value from its type (`ID` "1", `Int` 1, `String` "a", `Boolean` true).
   */
  argValues: Record<string, fc.Arbitrary<unknown>>;
  /** Optional arguments that are always given (a page size, so that lists stay small). */
  alwaysArgs: readonly string[];
  /** Most items each list field answers, by coordinate, for the size budget. @default 10 */
  listSizes: Record<string, number>;
  /** Most objects one path of an answer may multiply to (the product of list sizes along it). */
  maxFanOut: number;
  /** How often each field is picked against the others, by coordinate. @default 4 */
  fieldWeights?: Record<string, number>;
}

/** An arbitrary of runnable operations over `schema`. */
export function operationArbitrary(schema: GraphQLSchema, options: GeneratorOptions): fc.Arbitrary<GeneratedOperation> {
  const print = { maxAliases: options.limits.maxAliases, privateFields: privateCoordinates(schema) };
  return planDocument(schema, options)
    .map((plan) => printPlan(schema, plan, print))
    .filter((operation) => withinLimits(schema, options.limits, operation));
}

/**
 * Whether the server's limits let the operation through: graphql-armor's own rules for depth,
 * aliases and directives (counted through every fragment spread, as the server counts them),
 * the tokens, and graphql-query-complexity's cost with the estimators the server uses.
 */
function withinLimits(schema: GraphQLSchema, limits: QueryLimits, { query, operationName, variables }: GeneratedOperation): boolean {
  if (tokenCount(query) > limits.maxTokens) return false;
  const document = parse(query);
  const rules = [
    maxDepthRule({ n: limits.maxDepth, flattenFragments: true, ignoreIntrospection: true }),
    maxAliasesRule({ n: limits.maxAliases }),
    maxDirectivesRule({ n: limits.maxDirectives }),
  ];
  try {
    if (validate(schema, document, rules).length > 0) return false;
  } catch {
    // The armor rules throw their refusal.
    return false;
  }
  return costOf(schema, document, operationName, variables) <= limits.maxCost;
}

function costOf(schema: GraphQLSchema, query: DocumentNode, operationName: string | undefined, variables: Record<string, unknown>): number {
  return getComplexity({ schema, query, operationName, variables, estimators: [directiveEstimator({ name: 'complexity' }), simpleEstimator({ defaultComplexity: 1 })] });
}

/** The plans of documents over `schema`. */
function planDocument(schema: GraphQLSchema, options: GeneratorOptions): fc.Arbitrary<DocumentPlan> {
  const queryType = schema.getQueryType();
  if (!queryType) throw new Error('the schema has no query type');
  const always = new Set(options.alwaysArgs);

  function argsArbitrary(parent: string, field: GraphQLField<unknown, unknown>): fc.Arbitrary<ArgChoice[]> {
    const each = field.args.map((arg) => {
      const coordinate = `${parent}.${field.name}.${arg.name}`;
      const value = options.argValues[coordinate] ?? fallbackValue(arg.type);
      const choice = fc.record({ name: fc.constant(arg.name), value, variable: fc.boolean() });
      const required = (isNonNullType(arg.type) && arg.defaultValue === undefined) || always.has(coordinate);
      return required ? choice : fc.option(choice, { nil: undefined });
    });
    return fc.tuple(...each).map((choices) => choices.filter((choice): choice is ArgChoice => choice !== undefined));
  }

  // Rare: a field skipped by a directive adds nothing else to the answer.
  const condition: fc.Arbitrary<Condition | null> = fc.oneof(
    { weight: 9, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.record({ directive: fc.constantFrom('include' as const, 'skip' as const), value: fc.boolean(), variable: fc.boolean() }) },
  );

  const fieldsOf = (type: GraphQLCompositeType) => (isObjectType(type) || isInterfaceType(type) ? Object.values(type.getFields()) : []);

  /** Types that can stand where `type` does (itself, or an abstract type's members and interfaces). */
  const overlaps = (a: GraphQLCompositeType, b: GraphQLCompositeType): boolean => {
    const members = (t: GraphQLCompositeType) => (isAbstractType(t) ? schema.getPossibleTypes(t) : [t]);
    const of = new Set(members(a).map((t) => t.name));
    return members(b).some((t) => of.has(t.name));
  };

  // Arbitraries are built once per shape, separately for each list of fragments they may spread.
  const memos = new WeakMap<FragmentPlan[], Map<string, fc.Arbitrary<Selection[]>>>();

  /**
   * A selection set on `type` whose fields nest at most `depth` levels, whose lists multiply
   * the answer by at most `room`, spreading only fragments from `fragments`.
   */
  function selectionSet(type: GraphQLCompositeType, depth: number, room: number, fragments: FragmentPlan[], inline: boolean): fc.Arbitrary<Selection[]> {
    let memo = memos.get(fragments);
    if (!memo) memos.set(fragments, (memo = new Map()));
    const memoKey = `${type.name}|${depth}|${room}|${inline}`;
    const known = memo.get(memoKey);
    if (known) return known;
    const candidates: fc.WeightedArbitrary<Selection>[] = [];
    for (const field of fieldsOf(type)) {
      const named = getNamedType(field.type);
      const size = listSize(options, type.name, field);
      if (isCompositeType(named) && (depth < 2 || size > room)) continue;
      const selections = isCompositeType(named) ? selectionSet(named, depth - 1, Math.floor(room / size), fragments, true) : fc.constant(null);
      candidates.push({
        weight: options.fieldWeights?.[`${type.name}.${field.name}`] ?? 4,
        arbitrary: fc.record({
          kind: fc.constant('field' as const),
          parent: fc.constant(type.name),
          field: fc.constant(field.name),
          args: argsArbitrary(type.name, field),
          aliased: fc.boolean(),
          condition,
          selections,
        }),
      });
    }
    candidates.push({ weight: 1, arbitrary: fc.constant<Selection>(typename(type.name)) });
    if (inline) {
      const conditions = [null, ...(isAbstractType(type) ? schema.getPossibleTypes(type) : [type])];
      candidates.push({
        weight: isAbstractType(type) ? 4 : 1,
        arbitrary: fc.constantFrom(...conditions).chain((on) =>
          selectionSet(on ?? type, depth, room, fragments, false).map((selections): Selection => ({ kind: 'inline', on: on?.name ?? null, selections })),
        ),
      });
    }
    const spreadable = fragments
      .map((fragment, index) => ({ fragment, index }))
      .filter(({ fragment }) => fragment.depth <= depth && fragment.fanOut <= room && overlaps(type, schema.getType(fragment.on) as GraphQLCompositeType));
    if (spreadable.length > 0) {
      candidates.push({ weight: 2, arbitrary: fc.constantFrom(...spreadable).map(({ index }): Selection => ({ kind: 'spread', fragment: index })) });
    }
    const arbitrary = fc.array(fc.oneof(...candidates), { minLength: 1, maxLength: 3 });
    memo.set(memoKey, arbitrary);
    return arbitrary;
  }

  // Fragments are generated one after the other, each able to spread the ones before it.
  const roots = new Set([schema.getMutationType(), schema.getSubscriptionType()]);
  const fragmentTypes = Object.values(schema.getTypeMap()).filter(
    (type): type is GraphQLCompositeType => isCompositeType(type) && !type.name.startsWith('__') && !roots.has(type as never),
  );
  const fragmentDepth = Math.min(3, options.depth - 1);
  function fragmentsAfter(before: FragmentPlan[], remaining: number): fc.Arbitrary<FragmentPlan[]> {
    if (remaining === 0) return fc.constant(before);
    return fc
      .constantFrom(...fragmentTypes)
      .chain((on) => selectionSet(on, fragmentDepth, options.maxFanOut, before, true).map((selections) => ({ on, selections })))
      .chain(({ on, selections }) => {
        const { depth, fanOut } = measure(schema, options, selections, before);
        return fragmentsAfter([...before, { on: on.name, selections, depth, fanOut }], remaining - 1);
      });
  }

  return fc.integer({ min: 0, max: 3 }).chain((count) =>
    fragmentsAfter([], count).chain((fragments) =>
      fc.record({
        fragments: fc.constant(fragments),
        operations: fc.array(selectionSet(queryType, options.depth, options.maxFanOut, fragments, true), { minLength: 1, maxLength: 2 }),
        pick: fc.nat(),
        named: fc.boolean(),
      }),
    ),
  );
}

const typename = (parent: string): FieldSelection => ({
  kind: 'field',
  parent,
  field: '__typename',
  args: [],
  aliased: false,
  condition: null,
  selections: null,
});

function fallbackValue(type: unknown): fc.Arbitrary<unknown> {
  const name = getNamedType(type as GraphQLNamedType).name;
  if (name === 'Int') return fc.constant(1);
  if (name === 'Float') return fc.constant(1.5);
  if (name === 'Boolean') return fc.constant(true);
  if (name === 'ID') return fc.constant('1');
  return fc.constant('a');
}

/** How many items a field answers at most: 1 unless it is a list. */
function listSize(options: GeneratorOptions, parent: string, field: GraphQLField<unknown, unknown>): number {
  const type = isNonNullType(field.type) ? field.type.ofType : field.type;
  return isListType(type) ? (options.listSizes[`${parent}.${field.name}`] ?? 10) : 1;
}

/** Field nesting (a selection set's own fields are level 1) and list fan-out of a selection set. */
function measure(schema: GraphQLSchema, options: GeneratorOptions, selections: Selection[], fragments: FragmentPlan[]): { depth: number; fanOut: number } {
  let depth = 0;
  let fanOut = 1;
  for (const selection of selections) {
    if (selection.kind === 'spread') {
      depth = Math.max(depth, fragments[selection.fragment].depth);
      fanOut = Math.max(fanOut, fragments[selection.fragment].fanOut);
    } else if (selection.kind === 'inline') {
      const inner = measure(schema, options, selection.selections, fragments);
      depth = Math.max(depth, inner.depth);
      fanOut = Math.max(fanOut, inner.fanOut);
    } else {
      const inner = selection.selections ? measure(schema, options, selection.selections, fragments) : { depth: 0, fanOut: 1 };
      const own = selection.field === '__typename' ? 1 : listSize(options, selection.parent, fieldOf(schema, selection.parent, selection.field));
      depth = Math.max(depth, 1 + inner.depth);
      fanOut = Math.max(fanOut, own * inner.fanOut);
    }
  }
  return { depth, fanOut };
}

function tokenCount(query: string): number {
  const lexer = new Lexer(new Source(query));
  let count = 0;
  while (lexer.advance().kind !== TokenKind.EOF) count++;
  return count;
}

