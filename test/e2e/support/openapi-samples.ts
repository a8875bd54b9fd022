import { randomUUID } from 'node:crypto';
import RandExpModule from 'randexp';
import type { OpenApiContract, Operation, Parameter, Schema } from './openapi-contract.js';

// Requests built from the OpenAPI document's own schemas: a plausible value per schema (the base of the
// hostile variants in test/reliability) and valid values at the boundaries each schema declares
// (minimum, maximum, multipleOf, min/maxLength, min/maxItems, enum, pattern), which the API must accept.

// randexp is CommonJS (`module.exports = RandExp`) while its typings declare a default export.
const RandExp = ((RandExpModule as unknown as { default?: unknown }).default ??
  RandExpModule) as unknown as typeof RandExpModule.default;

export interface GeneratedRequest {
  readonly label: string;
  readonly method: string;
  readonly template: string;
  readonly path: string;
  readonly query?: Record<string, string>;
  readonly body?: unknown;
}

/** A small deterministic PRNG (mulberry32), so a failing generated request can be reproduced. */
export const seededRandom = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

export class SchemaSampler {
  constructor(
    private readonly contract: OpenApiContract,
    private readonly random: () => number = seededRandom(42),
  ) {}

  resolve(schema: Schema): Schema {
    return schema.$ref ? this.contract.document.components.schemas[schema.$ref.split('/').pop()!]! : schema;
  }

  /** A plausible value: the schema's example, else something of the right type. */
  sample(schema: Schema): unknown {
    const s = this.resolve(schema);
    // A fresh match of a pattern rather than its example: generated SKUs then rarely collide.
    if (s.type === 'string' && s.pattern) return this.matching(s);
    if (s.example !== undefined) return s.example;
    if (s.enum) return s.enum[0];
    if (s.type === 'array') return [this.sample(s.items ?? {})];
    if (s.type === 'object' || s.properties) {
      return Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, this.sample(v)]));
    }
    if (s.type === 'integer' || s.type === 'number') return Math.max(1, s.minimum ?? 1);
    if (s.format === 'uuid') return randomUUID();
    return 'sample';
  }

  /** Valid values at the edges the schema declares (each one on its own must be accepted). */
  boundaries(schema: Schema): unknown[] {
    const s = this.resolve(schema);
    if (s.enum) return [...s.enum];
    if (s.type === 'integer') {
      const min = s.minimum ?? 0;
      const max = s.maximum ?? min + 1_000;
      return [...new Set([min, min + 1, Math.floor((min + max) / 2), max])];
    }
    if (s.type === 'number') return this.numberBoundaries(s);
    if (s.type === 'string') return this.stringBoundaries(s);
    if (s.type === 'array') {
      const item = () => this.sample(s.items ?? {});
      const sizes = [...new Set([s.minItems ?? 0, Math.min(s.maxItems ?? 3, 3), s.maxItems ?? 3])];
      return sizes.map((size) => Array.from({ length: size }, item));
    }
    return [this.sample(s)];
  }

  /** One random string of the schema's pattern within its length limits (randexp, seeded). */
  matching(s: Schema): string {
    const generator = new RandExp(new RegExp(s.pattern!));
    generator.randInt = (a: number, b: number) => a + Math.floor(this.random() * (b - a + 1));
    for (let attempt = 0; attempt < 100; attempt++) {
      const value = generator.gen();
      if (value.length >= (s.minLength ?? 0) && value.length <= (s.maxLength ?? Infinity)) return value;
    }
    throw new Error(`No string of ${s.pattern} within ${s.minLength ?? 0}..${s.maxLength} characters`);
  }

  private numberBoundaries(s: Schema): number[] {
    const step = s.multipleOf;
    const min = s.minimum ?? 0;
    const max = s.maximum ?? min + 1_000;
    // Multiples of the step written as decimals (19.99, not 1999 * 0.01 = 19.990000000000002).
    const decimals = step ? Math.max(0, -Math.floor(Math.log10(step))) : 3;
    const at = (x: number) => Number(x.toFixed(decimals));
    return [...new Set([min, at(min + (step ?? 0.001)), at(min + (max - min) / 3), at(19.99), max])].filter(
      (x) => x >= min && x <= max,
    );
  }

  private stringBoundaries(s: Schema): string[] {
    if (s.format === 'uuid') return [randomUUID()];
    if (s.pattern) return [0, 1, 2].map(() => this.matching(s));
    const min = Math.max(s.minLength ?? 0, 1);
    const max = s.maxLength ?? 100;
    return [...new Set(['x'.repeat(min), 'Ünïcødé ✓ 名前'.slice(0, max), 'y'.repeat(max)])].filter(
      (value) => value.length >= min && value.length <= max,
    );
  }

  /** Bodies that are valid by the schema: all properties, required only, and each property at each edge. */
  validBodies(schema: Schema): { label: string; body: unknown }[] {
    const s = this.resolve(schema);
    const full = this.sample(s) as Record<string, unknown>;
    const bodies = [{ label: 'every property', body: full }];
    if (s.required) {
      bodies.push({
        label: 'required properties only',
        body: Object.fromEntries(Object.entries(full).filter(([key]) => s.required!.includes(key))),
      });
    }
    for (const [name, property] of Object.entries(s.properties ?? {})) {
      for (const value of this.boundaries(property)) {
        bodies.push({ label: `${name} = ${preview(value)}`, body: { ...full, [name]: value } });
      }
      // One level into arrays of objects (order lines): each item property at each of its edges.
      const items = this.resolve(property).items;
      const item = items && this.resolve(items);
      if (item?.properties) {
        const base = this.sample(item) as Record<string, unknown>;
        for (const [field, fieldSchema] of Object.entries(item.properties)) {
          for (const value of this.boundaries(fieldSchema)) {
            bodies.push({
              label: `${name}.0.${field} = ${preview(value)}`,
              body: { ...full, [name]: [{ ...base, [field]: value }] },
            });
          }
        }
      }
    }
    return bodies;
  }

  /**
   * Every operation of the document, asked in ways its schemas allow. Path ids are fresh: usually 404.
   * `opaque` names query parameters whose valid values only the server hands out (a `nextCursor`):
   * they are sent empty, which the document defines as absent.
   */
  validRequests({
    skip = () => false,
    opaque = [],
  }: { skip?: (template: string) => boolean; opaque?: string[] } = {}): GeneratedRequest[] {
    const requests: GeneratedRequest[] = [];
    for (const [template, methods] of Object.entries(this.contract.document.paths)) {
      if (skip(template)) continue;
      for (const [method, operation] of Object.entries(methods) as [string, Operation][]) {
        // A live feed (text/event-stream) answers for as long as the client listens: live-feeds.e2e-spec.ts.
        if (operation.responses['200']?.content?.['text/event-stream']) continue;
        const params = operation.parameters ?? [];
        const path = () =>
          template.replace(/\{(\w+)\}/g, (_, name: string) => {
            const param = params.find((p) => p.in === 'path' && p.name === name)!;
            return encodeURIComponent(String(this.sample(param.schema)));
          });
        const label = `${method.toUpperCase()} ${template}`;
        const add = (what: string, extra: Partial<GeneratedRequest>) =>
          requests.push({ label: `${label}: ${what}`, method, template, path: path(), ...extra });

        const bodySchema = operation.requestBody?.content['application/json']?.schema;
        if (bodySchema) {
          for (const { label: what, body } of this.validBodies(bodySchema)) add(what, { body });
          if (!operation.requestBody?.required) add('no body', {});
        } else add('no parameters', {});
        for (const param of params.filter((p: Parameter) => p.in === 'query')) {
          for (const value of opaque.includes(param.name) ? [''] : this.boundaries(param.schema)) {
            add(`?${param.name}=${preview(value)}`, { query: { [param.name]: String(value) } });
          }
        }
      }
    }
    return requests;
  }
}

const preview = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
};
