/**
 * Cache hints: where they come from (`@cacheControl` in the SDL, per-type and per-field config)
 * and how one field's hint is computed, with Apollo Server's semantics.
 */
import {
  getNamedType,
  isCompositeType,
  isObjectType,
  isInterfaceType,
  getDirectiveValues,
  type GraphQLSchema,
  type GraphQLNamedType,
  type GraphQLField,
  type GraphQLCompositeType,
  type GraphQLDirective,
} from 'graphql';
import type { CacheScope } from './store.ts';

/** A cache hint, as `@cacheControl` takes it; what a hint leaves unset, it does not change. */
export interface CacheHint {
  /** Seconds the answer stays fresh. */
  maxAge?: number;
  /** PRIVATE makes the whole answer private: stored per session, never without one. */
  scope?: CacheScope;
  /** Take the parent field's maxAge instead of the default one. */
  inheritMaxAge?: boolean;
  /** Seconds past maxAge a stale answer may be served while one refresh runs. */
  swr?: number;
}

/** `{ Product: 60, 'Product.stock': { maxAge: 5 }, 'User.email': { scope: 'PRIVATE' } }`: a number is a maxAge. */
export type HintConfig = Record<string, number | CacheHint>;

/** The policy a field, or a whole answer, ends up with. */
export interface CachePolicy {
  maxAge: number | undefined;
  scope: CacheScope;
  swr: number | undefined;
}

/** The values a hint or a policy carries; undefined means "not set". */
export interface PolicyValues {
  maxAge?: number;
  scope?: CacheScope;
  swr?: number;
}

/**
 * Narrows `policy` by `hint` as Apollo's `restrict` does: a lower maxAge or swr wins, and a
 * scope is taken unless the policy is already PRIVATE (so PRIVATE wins).
 */
export function restrictPolicy(policy: PolicyValues, hint: PolicyValues): void {
  if (hint.maxAge !== undefined && (policy.maxAge === undefined || hint.maxAge < policy.maxAge)) {
    policy.maxAge = hint.maxAge;
  }
  if (hint.swr !== undefined && (policy.swr === undefined || hint.swr < policy.swr)) policy.swr = hint.swr;
  if (hint.scope !== undefined && policy.scope !== 'PRIVATE') policy.scope = hint.scope;
}

/** Overrides `policy` by `hint` as Apollo's `replace` does: whatever the hint sets, wins. */
export function replacePolicy(policy: PolicyValues, hint: PolicyValues): void {
  if (hint.maxAge !== undefined) policy.maxAge = hint.maxAge;
  if (hint.swr !== undefined) policy.swr = hint.swr;
  if (hint.scope !== undefined) policy.scope = hint.scope;
}

export interface HintIndex {
  /** The hint on a composite type (SDL directive merged with config; config wins). */
  typeHint(type: GraphQLCompositeType): CacheHint;
  /** The hint on a field (SDL directive merged with config; config wins). */
  fieldHint(parent: GraphQLCompositeType, field: GraphQLField<unknown, unknown>): CacheHint;
}

const EMPTY: CacheHint = Object.freeze({});

/**
 * Reads every hint once at start-up. Config naming a type or field the schema lacks, or a
 * hint that is not a hint, is an error here rather than a silent no-op.
 */
export function buildHintIndex(schema: GraphQLSchema, config: HintConfig = {}): HintIndex {
  const directive = schema.getDirective('cacheControl') ?? undefined;
  const configured = parseHintConfig(schema, config);
  const typeHints = new Map<string, CacheHint>();
  const fieldHints = new Map<string, CacheHint>();

  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    if (isCompositeType(type)) {
      const hint = merge(directiveHint(directive, type), configured.get(type.name));
      if (hint !== EMPTY) typeHints.set(type.name, hint);
    }
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        const coordinate = `${type.name}.${field.name}`;
        const hint = merge(directiveHint(directive, field), configured.get(coordinate));
        if (hint !== EMPTY) fieldHints.set(coordinate, hint);
      }
    }
  }

  return {
    typeHint: (type) => typeHints.get(type.name) ?? EMPTY,
    fieldHint: (parent, field) => fieldHints.get(`${parent.name}.${field.name}`) ?? EMPTY,
  };
}

function merge(fromSdl: CacheHint | undefined, fromConfig: CacheHint | undefined): CacheHint {
  if (!fromSdl && !fromConfig) return EMPTY;
  return { ...fromSdl, ...fromConfig };
}

function directiveHint(
  directive: GraphQLDirective | undefined,
  node: GraphQLNamedType | GraphQLField<unknown, unknown>,
): CacheHint | undefined {
  if (!directive) return undefined;
  const where = `@cacheControl on ${'type' in node ? 'field ' : 'type '}${node.name}`;
  let hint: CacheHint | undefined;
  for (const astNode of definitionNodes(node)) {
    const values = getDirectiveValues(directive, astNode);
    if (!values) continue;
    const found = checkHint(values as CacheHint, where);
    hint = hint === undefined ? found : strictest(hint, found);
  }
  return hint;
}

/**
 * Every AST node a directive may sit on: a field's definition, or a type's definition and each
 * of its extensions. `buildSchema`, `extendSchema` and other tools keep `extend type` apart from
 * the type, and a hint missed there could turn a PRIVATE answer PUBLIC.
 */
export function definitionNodes(node: GraphQLNamedType | GraphQLField<unknown, unknown>): readonly DirectableNode[] {
  const nodes: DirectableNode[] = [];
  if (node.astNode) nodes.push(node.astNode as DirectableNode);
  if ('extensionASTNodes' in node) nodes.push(...(node.extensionASTNodes as readonly DirectableNode[]));
  return nodes;
}

type DirectableNode = Parameters<typeof getDirectiveValues>[1];

/** Two hints on one type (its definition and an extension): the stricter value of each wins. */
function strictest(a: CacheHint, b: CacheHint): CacheHint {
  const policy: CachePolicy = { maxAge: a.maxAge, scope: a.scope ?? 'PUBLIC', swr: a.swr };
  restrictPolicy(policy, b);
  const hint: CacheHint = {};
  if (policy.maxAge !== undefined) hint.maxAge = policy.maxAge;
  if (policy.swr !== undefined) hint.swr = policy.swr;
  if (a.scope !== undefined || b.scope !== undefined) hint.scope = policy.scope;
  if (a.inheritMaxAge || b.inheritMaxAge) hint.inheritMaxAge = true;
  return hint;
}

function parseHintConfig(schema: GraphQLSchema, config: HintConfig): Map<string, CacheHint> {
  const hints = new Map<string, CacheHint>();
  for (const [coordinate, value] of Object.entries(config)) {
    const [typeName, fieldName, extra] = coordinate.split('.');
    const type = schema.getType(typeName);
    if (!type || extra !== undefined) {
      throw new Error(`cache hint config names "${coordinate}", but the schema has no type "${typeName}"`);
    }
    if (fieldName !== undefined) {
      if (!(isObjectType(type) || isInterfaceType(type)) || !type.getFields()[fieldName]) {
        throw new Error(`cache hint config names "${coordinate}", but type ${typeName} has no field "${fieldName}"`);
      }
    } else if (!isCompositeType(type)) {
      throw new Error(`cache hint config names "${coordinate}", which is not an object, interface or union type`);
    }
    const hint = typeof value === 'number' ? { maxAge: value } : value;
    hints.set(coordinate, checkHint(hint, `cache hint config "${coordinate}"`));
  }
  return hints;
}

/** A hint's values checked (whole seconds >= 0, PUBLIC or PRIVATE); throws naming `where` and the bad value. */
export function checkHint(hint: CacheHint, where: string): CacheHint {
  const seconds = (name: 'maxAge' | 'swr') => {
    const v = hint[name];
    if (v !== undefined && v !== null && !(Number.isInteger(v) && v >= 0)) {
      throw new Error(`${where}: expected ${name} to be a whole number of seconds >= 0, got ${JSON.stringify(v)}`);
    }
  };
  seconds('maxAge');
  seconds('swr');
  if (hint.scope !== undefined && hint.scope !== null && hint.scope !== 'PUBLIC' && hint.scope !== 'PRIVATE') {
    throw new Error(`${where}: expected scope to be PUBLIC or PRIVATE, got ${JSON.stringify(hint.scope)}`);
  }
  const clean: CacheHint = {};
  if (hint.maxAge != null) clean.maxAge = hint.maxAge;
  if (hint.swr != null) clean.swr = hint.swr;
  if (hint.scope != null) clean.scope = hint.scope;
  if (hint.inheritMaxAge) clean.inheritMaxAge = true;
  return clean;
}

/**
 * The static part of one field's policy, computed once per schema coordinate:
 * a field takes its return type's hint, then its own (Apollo's `willResolveField`).
 */
export interface FieldHintPlan {
  /** The hint after type then field, before dynamic hints. */
  base: CacheHint;
  /** Whether the field inherits its parent's maxAge (so the default maxAge does not apply). */
  inheritMaxAge: boolean;
  /** Whether the default maxAge applies when nothing set one (composite or root fields). */
  takesDefault: boolean;
}

export function planFieldHint(
  hints: HintIndex,
  parent: GraphQLCompositeType,
  field: GraphQLField<unknown, unknown>,
  isRootField: boolean,
): FieldHintPlan {
  const target = getNamedType(field.type);
  const base: CacheHint = {};
  let inheritMaxAge = false;
  if (isCompositeType(target)) {
    const typeHint = hints.typeHint(target);
    Object.assign(base, withoutInherit(typeHint));
    inheritMaxAge = !!typeHint.inheritMaxAge;
  }
  const fieldHint = hints.fieldHint(parent, field);
  if (fieldHint.inheritMaxAge && base.maxAge === undefined) {
    inheritMaxAge = true;
    if (fieldHint.scope) base.scope = fieldHint.scope;
  } else {
    Object.assign(base, withoutInherit(fieldHint));
  }
  return { base, inheritMaxAge, takesDefault: (isCompositeType(target) && !inheritMaxAge) || isRootField };
}

function withoutInherit(hint: CacheHint): CacheHint {
  const { inheritMaxAge: _ignored, ...rest } = hint;
  return rest;
}
