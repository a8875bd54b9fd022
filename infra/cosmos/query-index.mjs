// Equality indexes for @vercel/cosmosdb-server's document queries.
//
// The package answers every query by running it over every document of the container, so a query's cost
// grows with everything ever stored (the relay's outbox recovery scan, a stream query in one partition).
// Cosmos DB answers the same queries from its index (every path is indexed by default) and sends a
// partition-key filter to one partition. This module gives the local server the part of that which our
// queries need: when a query's WHERE clause is a conjunction (AND) that contains `alias.<property> =
// <constant or @parameter>` or `alias.<property> IN (<constants or @parameters>)` for a top-level property
// (a replay reads a page of streams with one `c.streamId IN (...)`), only the documents holding that value
// (one of those values) are handed
// to the package's query engine, which still evaluates the whole query on them (filter, ORDER BY,
// aggregates, continuation tokens; these are value-based, so pages are the same), so the answers are the
// same as without the index (`test/infra/cosmos-query-index.infra-spec.ts` compares them). Anything else
// (OR at the top, JOIN, nested paths, object or array constants) runs as before, over all documents.
//
// An index is built per (container, property) the first time a query filters on that property (one pass
// over the container), then kept current by hooking the package's two storage primitives, which every
// write goes through (create, replace, upsert, delete, patch, batch, and the journal's replay).
//
// The package's query engine (@zeit/cosmosdb-query) compiles FROM and JOIN into `reduce(($, c) => [...$,
// { c }], [])`, which copies the accumulated array once per document: quadratic in the documents a
// query looks at (with 24,000 pending outbox entries, the relay's recovery took 5 minutes for its pages).
// `installLinearReduce` rewrites that accumulator, in the compiled query's syntax tree, into an append
// to the same fresh array (`($.push({ c }), $)`): the same elements in the same order, linear time.
//
// Written by hand because no Cosmos-compatible server we can run here indexes; the hooks follow the
// package's internals (lib/account/items.js, @zeit/cosmosdb-query's lib/transformer.js), which the
// pinned versions fix.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { default: Documents } = require('@vercel/cosmosdb-server/lib/account/documents.js');
// The engine the package uses (its own dependency), and the module whose `default` compiles a query.
const transformer = createRequire(require.resolve('@vercel/cosmosdb-server/lib/account/items.js'))(
  '@zeit/cosmosdb-query/lib/transformer.js',
);

const NONE = new Set();

/** Index key of a scalar (typed: 1 and '1' differ, as they do for `=`), undefined for what is not indexed. */
const keyOf = (value) => {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return `s:${value}`;
    case 'number':
      return Number.isFinite(value) ? `n:${value}` : undefined;
    case 'boolean':
      return `b:${value}`;
    default:
      return undefined;
  }
};

const constantOf = (node, parameters) => {
  switch (node.type) {
    case 'string_constant':
    case 'number_constant':
    case 'boolean_constant':
      return { value: node.value };
    case 'null_constant':
      return { value: null };
    case 'parameter_name': {
      const parameter = (parameters ?? []).find((p) => p.name === node.name);
      return parameter ? { value: parameter.value } : undefined;
    }
    default:
      return undefined;
  }
};

/** `alias.prop` or `alias["prop"]` of the query's root alias: the property name, else undefined. */
const propertyOf = (node, alias) => {
  if (node.type !== 'scalar_member_expression') return undefined;
  if (node.object.type !== 'identifier' || node.object.name !== alias) return undefined;
  if (!node.computed && node.property.type === 'identifier') return node.property.name;
  if (node.computed && node.property.type === 'string_constant') return node.property.value;
  return undefined;
};

/**
 * The `property = constant` and `property IN (constants)` terms of a query's top-level conjunction, as
 * [property, index keys] pairs (a document matching the term holds one of the keys).
 */
const equalityTerms = (query, parameters) => {
  const body = query.ast?.body;
  const from = body?.from;
  const condition = body?.where?.condition;
  if (!from || !condition || from.joins?.length) return [];
  const alias = from.source.alias?.name ?? from.source.expression?.expression?.name;
  if (!alias) return [];
  const terms = [];
  const visit = (node) => {
    if (node.type === 'scalar_in_expression') {
      const property = propertyOf(node.value, alias);
      const keys = property === undefined ? [] : node.list.map((item) => constantOf(item, parameters));
      // Only when every listed value is an indexable constant: else some match could be missed.
      if (keys.length > 0 && keys.every((c) => c !== undefined && keyOf(c.value) !== undefined)) {
        terms.push([property, [...new Set(keys.map((c) => keyOf(c.value)))]]);
      }
      return;
    }
    if (node.type !== 'scalar_binary_expression') return;
    if (node.operator === 'AND') {
      visit(node.left);
      visit(node.right);
      return;
    }
    if (node.operator !== '=') return;
    for (const [member, other] of [
      [node.left, node.right],
      [node.right, node.left],
    ]) {
      const property = propertyOf(member, alias);
      const constant = property === undefined ? undefined : constantOf(other, parameters);
      const key = constant === undefined ? undefined : keyOf(constant.value);
      if (key !== undefined) terms.push([property, [key]]);
    }
  };
  visit(condition);
  return terms;
};

const isIdentifier = (node, name) => node?.type === 'Identifier' && node.name === name;

/** `[...$, a, ...b]` -> `($.push(a, ...b), $)`, for the accumulator `$` of a reduce. */
const appendTo = (array) => ({
  type: 'SequenceExpression',
  expressions: [
    {
      type: 'CallExpression',
      callee: {
        type: 'MemberExpression',
        object: { type: 'Identifier', name: '$' },
        property: { type: 'Identifier', name: 'push' },
        computed: false,
      },
      arguments: array.elements.slice(1),
    },
    { type: 'Identifier', name: '$' },
  ],
});

/** Whether a node is `[...$, ...]`: a copy of the accumulator with elements after it. */
const copiesAccumulator = (node) =>
  node?.type === 'ArrayExpression' &&
  node.elements[0]?.type === 'SpreadElement' &&
  isIdentifier(node.elements[0].argument, '$');

/**
 * Rewrites, in a compiled query (a Babel syntax tree), every `x.reduce(($, ...) => [...$, ...], [])` whose
 * result is such a copy (directly or as a branch of `cond ? [...] : $`) into appends to `$`. Safe because
 * the initial value is a fresh `[]` literal of that call, which nothing else holds.
 */
const linearReduces = (node) => {
  if (!node || typeof node !== 'object') return node;
  if (Array.isArray(node)) {
    node.forEach(linearReduces);
    return node;
  }
  for (const value of Object.values(node)) if (value && typeof value === 'object') linearReduces(value);
  const [callback, initial] = node.type === 'CallExpression' ? node.arguments : [];
  if (
    node.callee?.type === 'MemberExpression' &&
    isIdentifier(node.callee.property, 'reduce') &&
    callback?.type === 'ArrowFunctionExpression' &&
    isIdentifier(callback.params[0], '$') &&
    initial?.type === 'ArrayExpression' &&
    initial.elements.length === 0
  ) {
    const body = callback.body;
    if (copiesAccumulator(body)) callback.body = appendTo(body);
    else if (body.type === 'ConditionalExpression') {
      if (copiesAccumulator(body.consequent)) body.consequent = appendTo(body.consequent);
      if (copiesAccumulator(body.alternate)) body.alternate = appendTo(body.alternate);
    }
  }
  return node;
};

/** Makes the query engine's FROM/JOIN accumulation linear (see the top of this file). Idempotent. */
export function installLinearReduce() {
  if (transformer.__linearReduce) return;
  const transform = transformer.default;
  transformer.default = (ast) => linearReduces(transform(ast));
  Object.defineProperty(transformer, '__linearReduce', { value: true });
}

/** Installs the indexes into the package's Documents class. Call once, before the server is created. */
export function installQueryIndex() {
  if (Documents.prototype.__queryIndexInstalled) return;
  installLinearReduce();
  const base = Object.getPrototypeOf(Documents.prototype); // Items, looked up per call: the journal hooks it too
  const indexesOf = new WeakMap(); // Documents -> Map<property, Map<key, Set<_rid>>>

  const add = (indexes, document) => {
    for (const [property, index] of indexes) {
      const key = keyOf(document[property]);
      if (key === undefined) continue;
      let rids = index.get(key);
      if (!rids) index.set(key, (rids = new Set()));
      rids.add(document._rid);
    }
  };
  const remove = (indexes, document) => {
    for (const [property, index] of indexes) {
      const key = keyOf(document[property]);
      const rids = key === undefined ? undefined : index.get(key);
      if (!rids) continue;
      rids.delete(document._rid);
      if (rids.size === 0) index.delete(key);
    }
  };
  const indexOf = (documents, property) => {
    let indexes = indexesOf.get(documents);
    if (!indexes) indexesOf.set(documents, (indexes = new Map()));
    let index = indexes.get(property);
    if (!index) {
      index = new Map();
      const only = new Map([[property, index]]);
      for (const item of documents._data.values()) add(only, item.read());
      indexes.set(property, index);
    }
    return index;
  };

  Object.defineProperty(Documents.prototype, '__queryIndexInstalled', { value: true });

  Documents.prototype._set = function indexedSet(data) {
    const indexes = indexesOf.get(this);
    const before = indexes && this._data.get(data._rid)?.read();
    if (before) remove(indexes, before);
    const result = base._set.call(this, data);
    if (indexes) add(indexes, result);
    return result;
  };

  Documents.prototype.delete = function indexedDelete(idOrRid, partition) {
    const indexes = indexesOf.get(this);
    const before = indexes && this._item('/id', idOrRid, partition).read();
    base.delete.call(this, idOrRid, partition);
    if (before) remove(indexes, before);
  };

  Documents.prototype.query = function indexedQuery(params, options) {
    if (!this._parent.read()) return null;
    const terms = equalityTerms(this._getQuery(params.query), params.parameters);
    if (terms.length === 0) return base.query.call(this, params, options);
    let smallest; // the sets (one per key) of the term allowing the fewest candidates
    let smallestSize = Infinity;
    for (const [property, keys] of terms) {
      const index = indexOf(this, property);
      const sets = keys.map((key) => index.get(key) ?? NONE);
      const size = sets.reduce((sum, rids) => sum + rids.size, 0);
      if (size < smallestSize) [smallest, smallestSize] = [sets, size];
      if (smallestSize === 0) break;
    }
    // The query engine reads `this._data`: hand it a view of this container holding only the candidates.
    // Those of an IN term (disjoint sets: a document holds one value of a property) in _rid order, which
    // the engine's continuation tokens resume from (the first candidate at or after the token's _rid).
    const rids = smallest.length === 1 ? smallest[0] : smallest.flatMap((set) => [...set]).sort();
    const candidates = new Map();
    for (const rid of rids) candidates.set(rid, this._data.get(rid));
    return base.query.call(Object.create(this, { _data: { value: candidates } }), params, options);
  };
}
