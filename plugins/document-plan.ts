/**
 * What the cache needs to know about a query text, worked out once per distinct text and
 * memoised: its normalised hash (so whitespace and comments do not change the key), each
 * operation's kind, whether it can produce a PRIVATE answer and whether it is introspection.
 * Mutation documents get relation probes instead (`createRelationProber`), memoised per
 * parsed document.
 */

import {
  parse,
  stripIgnoredCharacters,
  visit,
  visitWithTypeInfo,
  TypeInfo,
  getNamedType,
  isCompositeType,
  isObjectType,
  Kind,
  type DocumentNode,
  type GraphQLSchema,
  type GraphQLNamedType,
  type OperationTypeNode,
  type FieldNode,
  type SelectionNode,
} from 'graphql';
import { LRUCache } from 'lru-cache';
import type { SchemaIndex } from './schema-index.ts';
import { hashKey } from './cache-key.ts';

export interface OperationPlan {
  /** Its name in the document ('' when anonymous), whether or not the request named it. */
  readonly name: string;
  readonly kind: OperationTypeNode;
  /** Reads `__schema` or `__type`. */
  readonly introspection: boolean;
  /**
   * Whether an answer can be PRIVATE, judged from the schema's hints, so the key carries the
   * session. Shared by every request with this text: never changed after it is built.
   */
  readonly privateScope: boolean;
}

export interface DocumentPlan {
  /**
   * Hash of the text without layout, commas and comments: the same for texts that differ only
   * in those. Every token is kept (printing would drop a `query` keyword), so texts with one
   * hash have one token count and a token limit refuses all of them or none.
   */
  readonly hash: string;
  /** By operation name; the anonymous operation under ''. */
  readonly operations: ReadonlyMap<string, OperationPlan>;
}

/** Prefix of the aliases the cache adds to mutation documents, unless the document already uses it. */
const PROBE_PREFIX = '__gcl_via_';

export interface DocumentPlanner {
  /** The plan for a query text, or null when it does not parse (the pipeline reports that). */
  plan(query: string): DocumentPlan | null;
  /** The plan for an operation of a text: `operationName` may be omitted for a single operation. */
  operation(plan: DocumentPlan, operationName: string | null | undefined): OperationPlan | undefined;
}

export function createDocumentPlanner(
  index: SchemaIndex,
  { maxTextBytes = 8 * 1024 * 1024 }: { maxTextBytes?: number } = {},
): DocumentPlanner {
  const plans = new LRUCache<string, DocumentPlan | false>({
    maxSize: maxTextBytes,
    sizeCalculation: (_value, key) => Math.max(1, key.length),
  });

  function plan(query: string): DocumentPlan | null {
    const known = plans.get(query);
    if (known !== undefined) return known || null;
    let document: DocumentNode;
    try {
      document = parse(query, { noLocation: true });
    } catch {
      plans.set(query, false);
      return null;
    }
    const built = buildPlan(index, document, query);
    plans.set(query, built);
    return built;
  }

  // As graphql-js's getOperationAST: only an absent name picks the single operation; any name,
  // '' included, must be an operation's (the anonymous one has none).
  function operation(docPlan: DocumentPlan, operationName: string | null | undefined) {
    if (operationName == null) return docPlan.operations.size === 1 ? docPlan.operations.values().next().value : undefined;
    return operationName === '' ? undefined : docPlan.operations.get(operationName);
  }

  return { plan, operation };
}

function buildPlan(index: SchemaIndex, document: DocumentNode, query: string): DocumentPlan {
  const { privateScope, introspection } = analyse(index, document);
  const operations = new Map<string, OperationPlan>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const name = definition.name?.value ?? '';
    operations.set(name, { name, kind: definition.operation, introspection, privateScope });
  }
  return { hash: hashKey(stripIgnoredCharacters(query)), operations };
}

/**
 * Conservative over the whole document: any selected field whose own hint, or whose type's
 * hint on any concrete type it may resolve to, is PRIVATE makes the operation private.
 * Fields are judged by their definition, so aliases and fragments change nothing.
 */
function analyse({ schema, hints, possibleTypes }: SchemaIndex, document: DocumentNode) {
  const typeInfo = new TypeInfo(schema);
  let privateScope = false;
  let introspection = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        if (node.name.value === '__schema' || node.name.value === '__type') introspection = true;
        const parent = typeInfo.getParentType();
        const fieldDef = typeInfo.getFieldDef();
        if (!parent || !fieldDef || privateScope) return;
        for (const concrete of possibleTypes(parent)) {
          const field = concrete.getFields()[fieldDef.name];
          if (field && hints.fieldHint(concrete, field).scope === 'PRIVATE') privateScope = true;
        }
        if (hints.fieldHint(parent, fieldDef).scope === 'PRIVATE') privateScope = true;
        const target = getNamedType(fieldDef.type);
        if (isCompositeType(target)) {
          if (hints.typeHint(target).scope === 'PRIVATE') privateScope = true;
          for (const concrete of possibleTypes(target)) {
            if (hints.typeHint(concrete).scope === 'PRIVATE') privateScope = true;
          }
        }
      },
    }),
  );
  return { privateScope, introspection };
}

/** A mutation document as executed, with the alias prefix of the probes added to it. */
export interface ProbedMutation {
  readonly document: DocumentNode;
  /** Response keys that start with it are probes, stripped from the answer; none when nothing was added. */
  readonly probePrefix: string | undefined;
}

/**
 * Adds `<prefix><field>: <field> { __typename }` to the selection of every mutation root field
 * whose result type has list relations, so the relation (say `Product.category`) is resolved
 * whatever the client selected, and the written object's lists can be evicted. `__typename`
 * below the probe resolves no field, so the probed parent is not collected as a changed entity
 * itself. The prefix is one no response key of the document starts with, so a client's own
 * aliases are never taken for probes.
 */
export function createRelationProber(index: SchemaIndex): (document: DocumentNode) => ProbedMutation {
  const probed = new WeakMap<DocumentNode, ProbedMutation>();
  return (document) => {
    let result = probed.get(document);
    if (!result) {
      result = addRelationProbes(index, document);
      probed.set(document, result);
    }
    return result;
  };
}

function addRelationProbes(index: SchemaIndex, document: DocumentNode): ProbedMutation {
  const mutationType = index.schema.getMutationType();
  if (!mutationType || index.tags.relations.viaFieldsByType.size === 0) return { document, probePrefix: undefined };
  const probePrefix = unusedPrefix(document);
  let added = false;
  const typeInfo = new TypeInfo(index.schema);
  const probedDocument = visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field: {
        leave(node) {
          if (typeInfo.getParentType() !== mutationType || !node.selectionSet) return undefined;
          const target = getNamedType(typeInfo.getType());
          if (!target) return undefined;
          const probes = probeSelections(index, target, probePrefix);
          if (probes.length === 0) return undefined;
          added = true;
          return { ...node, selectionSet: { ...node.selectionSet, selections: [...node.selectionSet.selections, ...probes] } };
        },
      },
    }),
  );
  return added ? { document: probedDocument, probePrefix } : { document, probePrefix: undefined };
}

/** `__gcl_via_`, or `__gcl_via2_`, `__gcl_via3_`…: the first no alias or field name starts with. */
function unusedPrefix(document: DocumentNode): string {
  const keys: string[] = [];
  visit(document, {
    Field(node) {
      keys.push(node.alias?.value ?? node.name.value);
    },
  });
  let prefix = PROBE_PREFIX;
  for (let n = 2; keys.some((key) => key.startsWith(prefix)); n++) prefix = `__gcl_via${n}_`;
  return prefix;
}

function probeSelections(index: SchemaIndex, target: GraphQLNamedType, probePrefix: string): SelectionNode[] {
  const selections: SelectionNode[] = [];
  for (const concrete of index.possibleTypes(target)) {
    const viaFields = index.tags.relations.viaFieldsByType.get(concrete.name);
    if (!viaFields) continue;
    const fields: FieldNode[] = [...viaFields.keys()].map((via) => ({
      kind: Kind.FIELD,
      alias: { kind: Kind.NAME, value: probePrefix + via },
      name: { kind: Kind.NAME, value: via },
      selectionSet: {
        kind: Kind.SELECTION_SET,
        selections: [{ kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } }],
      },
    }));
    if (concrete === target) selections.push(...fields);
    else {
      selections.push({
        kind: Kind.INLINE_FRAGMENT,
        typeCondition: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: concrete.name } },
        selectionSet: { kind: Kind.SELECTION_SET, selections: fields },
      });
    }
  }
  return selections;
}
