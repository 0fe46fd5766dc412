/**
 * A generated document as data, and its printer. fast-check generates and shrinks the plan
 * (query-generator.ts); printing does what needs the whole document at once: unique aliases,
 * one set of arguments per field coordinate unless aliased (so that fields always merge),
 * variable definitions per operation, and dropping unused fragments. Every printed document is
 * validated against the schema: an invalid one is a bug of the generator, and throws.
 */
import { parse, validate, type GraphQLCompositeType, type GraphQLError, type GraphQLField, type GraphQLSchema } from 'graphql';

/** One generated request: a document, the operation to run and its variables. */
export interface GeneratedOperation {
  query: string;
  /** Absent when the document's only operation is run without naming it. */
  operationName?: string;
  variables: Record<string, unknown>;
  /**
   * Response keys under which a PRIVATE field (one whose hint, or whose type's hint, says
   * `scope: PRIVATE`) appears anywhere in the document. No other field answers under them,
   * so an answer carries PRIVATE data exactly when one of its objects has such a key.
   */
  privateKeys: string[];
  /** The field coordinates (`Query.me`) the operation selects, fragments included. */
  coordinates: string[];
}

export type Selection = FieldSelection | InlineSelection | SpreadSelection;

export interface FieldSelection {
  kind: 'field';
  parent: string;
  field: string;
  args: ArgChoice[];
  aliased: boolean;
  condition: Condition | null;
  selections: Selection[] | null;
}

export interface ArgChoice {
  name: string;
  value: unknown;
  variable: boolean;
}

export interface Condition {
  directive: 'include' | 'skip';
  value: boolean;
  variable: boolean;
}

interface InlineSelection {
  kind: 'inline';
  /** null: `... { }` without a type condition. */
  on: string | null;
  selections: Selection[];
}

interface SpreadSelection {
  kind: 'spread';
  fragment: number;
}

export interface FragmentPlan {
  on: string;
  selections: Selection[];
  /** Field nesting inside it, fragments it spreads included. */
  depth: number;
  /** The product of list sizes along its widest path. */
  fanOut: number;
}

export interface DocumentPlan {
  fragments: FragmentPlan[];
  operations: Selection[][];
  /** Which operation runs (modulo their number). */
  pick: number;
  /** Name a lone operation and send its name. */
  named: boolean;
}

/**
 * Prints the plan as a document, validates it, and picks the operation to run. `privateFields`
 * are the coordinates whose response keys are reported as `privateKeys`.
 */
export function printPlan(
  schema: GraphQLSchema,
  plan: DocumentPlan,
  { maxAliases, privateFields }: { maxAliases: number; privateFields: ReadonlySet<string> },
): GeneratedOperation {
  const pick = plan.pick % plan.operations.length;
  const single = plan.operations.length === 1;

  // Only fragments some operation reaches are printed (an unused fragment is invalid).
  const used = new Set<number>();
  const reach = (selections: Selection[]) => {
    for (const selection of selections) {
      if (selection.kind === 'spread' && !used.has(selection.fragment)) {
        used.add(selection.fragment);
        reach(plan.fragments[selection.fragment].selections);
      } else if (selection.kind !== 'spread' && selection.selections) reach(selection.selections);
    }
  };
  plan.operations.forEach(reach);

  let aliases = 0;
  let nextVariable = 0;
  const fixedArgs = new Map<string, { text: string; variables: string[] }>();
  const variableTypes = new Map<string, string>();
  const variables: Record<string, unknown> = {};
  const privateKeys = new Set<string>();
  const publicKeys = new Set<string>();

  const variable = (type: string, value: unknown): string => {
    const name = `v${++nextVariable}`;
    variableTypes.set(name, type);
    variables[name] = value;
    return name;
  };

  /** Prints a selection set; `uses` collects the variables and fragments it references. */
  function print(selections: Selection[], uses: { variables: Set<string>; fragments: Set<number>; coordinates: Set<string> }): string {
    const parts: string[] = [];
    for (const selection of selections) {
      if (selection.kind === 'spread') {
        uses.fragments.add(selection.fragment);
        parts.push(`...F${selection.fragment}`);
        continue;
      }
      if (selection.kind === 'inline') {
        parts.push(`...${selection.on ? ` on ${selection.on}` : ''} { ${print(selection.selections, uses)} }`);
        continue;
      }
      const coordinate = `${selection.parent}.${selection.field}`;
      uses.coordinates.add(coordinate);
      const field = selection.field === '__typename' ? undefined : fieldOf(schema, selection.parent, selection.field);
      let argText = '';
      let argVariables: string[] = [];
      if (selection.args.length > 0) {
        const printed = selection.args.map((arg) => {
          if (!arg.variable) return { text: `${arg.name}: ${JSON.stringify(arg.value)}`, variable: undefined };
          const type = String(field!.args.find((a) => a.name === arg.name)!.type);
          const name = variable(type, arg.value);
          return { text: `${arg.name}: $${name}`, variable: name };
        });
        argText = `(${printed.map((p) => p.text).join(', ')})`;
        argVariables = printed.flatMap((p) => (p.variable ? [p.variable] : []));
      }
      let alias: string | undefined;
      const wantsAlias = selection.aliased && selection.field !== '__typename';
      if (wantsAlias && aliases < maxAliases) alias = `a${++aliases}`;
      else if (selection.args.length > 0) {
        // Unaliased occurrences of one field must agree on arguments, or they could not merge.
        const fixed = fixedArgs.get(coordinate);
        if (fixed === undefined) fixedArgs.set(coordinate, { text: argText, variables: argVariables });
        else if (fixed.text !== argText) {
          if (aliases < maxAliases) alias = `a${++aliases}`;
          else ({ text: argText, variables: argVariables } = fixed);
        }
      }
      for (const name of argVariables) uses.variables.add(name);
      const key = alias ?? selection.field;
      (privateFields.has(coordinate) ? privateKeys : publicKeys).add(key);

      let directive = '';
      if (selection.condition) {
        const { directive: kind, value, variable: asVariable } = selection.condition;
        if (asVariable) {
          const name = variable('Boolean!', value);
          uses.variables.add(name);
          directive = ` @${kind}(if: $${name})`;
        } else directive = ` @${kind}(if: ${value})`;
      }
      const body = selection.selections ? ` { ${print(selection.selections, uses)} }` : '';
      parts.push(`${alias ? `${alias}: ` : ''}${selection.field}${argText}${directive}${body}`);
    }
    return parts.join(' ');
  }

  const newUses = () => ({ variables: new Set<string>(), fragments: new Set<number>(), coordinates: new Set<string>() });
  const fragmentTexts = new Map<number, { text: string; uses: ReturnType<typeof newUses> }>();
  for (const index of [...used].sort((a, b) => a - b)) {
    const uses = newUses();
    const { on, selections } = plan.fragments[index];
    fragmentTexts.set(index, { text: `fragment F${index} on ${on} { ${print(selections, uses)} }`, uses });
  }

  /** What an operation references, through the fragments it spreads too. */
  const closure = (uses: ReturnType<typeof newUses>) => {
    const all = newUses();
    const visit = (u: ReturnType<typeof newUses>) => {
      u.variables.forEach((v) => all.variables.add(v));
      u.coordinates.forEach((c) => all.coordinates.add(c));
      for (const fragment of u.fragments) {
        if (all.fragments.has(fragment)) continue;
        all.fragments.add(fragment);
        visit(fragmentTexts.get(fragment)!.uses);
      }
    };
    visit(uses);
    return all;
  };

  const operations = plan.operations.map((selections, index) => {
    const uses = newUses();
    const body = print(selections, uses);
    const all = closure(uses);
    const definitions = [...all.variables].map((name) => `$${name}: ${variableTypes.get(name)}`);
    const name = single && !plan.named ? '' : ` Q${index}`;
    const header = definitions.length > 0 || name ? `query${name}${definitions.length ? `(${definitions.join(', ')})` : ''} ` : '';
    return { text: `${header}{ ${body} }`, name: name.trim() || undefined, all };
  });

  for (const key of privateKeys) {
    if (publicKeys.has(key)) throw new Error(`generator: response key "${key}" names both a PRIVATE field and another field`);
  }
  const query = [...operations.map((o) => o.text), ...[...fragmentTexts.values()].map((f) => f.text)].join('\n');
  const errors = validateText(schema, query);
  if (errors.length > 0) throw new Error(`generator produced an invalid document:\n${query}\n${errors.map((e) => e.message).join('\n')}`);
  const chosen = operations[pick];
  return {
    query,
    ...(chosen.name && { operationName: chosen.name }),
    variables,
    privateKeys: [...privateKeys],
    coordinates: [...chosen.all.coordinates],
  };
}

export function fieldOf(schema: GraphQLSchema, parent: string, field: string): GraphQLField<unknown, unknown> {
  return (schema.getType(parent) as GraphQLCompositeType & { getFields(): Record<string, GraphQLField<unknown, unknown>> }).getFields()[field];
}

function validateText(schema: GraphQLSchema, query: string): readonly GraphQLError[] {
  try {
    return validate(schema, parse(query));
  } catch (error) {
    return [error as GraphQLError];
  }
}

