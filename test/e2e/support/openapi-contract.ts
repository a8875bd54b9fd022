import type { Server } from 'node:http';
import { Ajv, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import supertest, { type Response, type Test } from 'supertest';

// The OpenAPI document an app serves at /docs-json, used as a contract: every response the suites get
// must be one the document describes for that operation (status, content type, body schema).

export interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  nullable?: boolean;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  multipleOf?: number;
  minItems?: number;
  maxItems?: number;
  example?: unknown;
  default?: unknown;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  allOf?: Schema[];
  additionalProperties?: boolean | Schema;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Schema;
}

export interface Operation {
  tags?: string[];
  summary?: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<
    string,
    {
      description: string;
      headers?: Record<string, { schema: Schema }>;
      content?: Record<string, { schema: Schema; examples?: object }>;
    }
  >;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; description: string };
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

/** Routes not described as operations: the document and its UI, and the Prometheus scrape endpoint. */
const UNDOCUMENTED = /^\/(?:docs(?:-json|\/|$)|metrics$)/;

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;

const PROBLEM_SCHEMA = { $ref: '#/components/schemas/ProblemDetails' };

export class OpenApiContract {
  private readonly ajv = new Ajv({ allErrors: true, strict: true, multipleOfPrecision: 9 });
  private readonly compiled = new WeakMap<object, ValidateFunction>();
  private readonly routes: { template: string; pattern: RegExp }[];

  constructor(readonly document: OpenApiDocument) {
    formats.default(this.ajv);
    this.ajv.addKeyword('example');
    this.ajv.addSchema({ $id: 'openapi', $defs: refsToDefs(structuredClone(document.components.schemas)) });
    this.routes = Object.keys(document.paths)
      .map((template) => ({
        template,
        pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/]+')}$`),
      }))
      // Literal segments before parameters: `/orders/{id}` never shadows a longer literal path.
      .sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0));
  }

  /** Validates a value against a schema of the document (`$ref`s into its components resolve). */
  validate(schema: Schema, value: unknown): string[] {
    let validate = this.compiled.get(schema);
    if (!validate) {
      validate = this.ajv.compile(refsToDefs(structuredClone(schema)));
      this.compiled.set(schema, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message} ${JSON.stringify(e.params)}`);
  }

  /** The path template of the document that a concrete path (no query) falls under. */
  templateOf(path: string): string | undefined {
    return this.routes.find((route) => route.pattern.test(path))?.template;
  }

  /** Everything about this response that the document does not describe (empty: it tells the truth). */
  mismatches(method: string, url: string, response: Pick<Response, 'status' | 'headers' | 'text'>): string[] {
    const path = url.split('?')[0]!.replace(/^https?:\/\/[^/]+/, '');
    if (UNDOCUMENTED.test(path)) return [];
    const template = this.templateOf(path);
    const verb = method.toLowerCase();
    if (!template) return this.problemMismatches(response, 404, ['NOT_FOUND'], PROBLEM_SCHEMA);
    const item = this.document.paths[template]!;
    const operation = item[verb === 'head' ? 'get' : verb];
    if (!operation) {
      const allowed = METHODS.filter((m) => item[m] || (m === 'head' && item.get)).map((m) => m.toUpperCase());
      const problems = this.problemMismatches(response, 405, ['METHOD_NOT_ALLOWED'], PROBLEM_SCHEMA);
      const allow = String(response.headers['allow'] ?? '')
        .split(/,\s*/)
        .filter(Boolean)
        .sort();
      if (allow.join() !== allowed.sort().join())
        problems.push(`Allow "${allow.join(', ')}" is not ${allowed.join(', ')}`);
      return problems;
    }
    const documented = operation.responses[String(response.status)];
    if (!documented) {
      return [
        `status ${response.status} is not documented (documented: ${Object.keys(operation.responses).join(', ')})`,
      ];
    }
    if (!documented.description?.trim()) return [`status ${response.status} has no description`];
    // A header documented with `required: false` may be absent (Retry-After of an ambiguous append without a key).
    const missingHeaders = Object.entries(documented.headers ?? {})
      .filter(([, header]) => (header as { required?: boolean }).required !== false)
      .map(([name]) => name)
      .filter((name) => response.headers[name.toLowerCase()] === undefined)
      .map((name) => `documented header ${name} is missing`);
    if (missingHeaders.length > 0) return missingHeaders;
    if (!documented.content || verb === 'head') return [];
    const mediaType = String(response.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
    const media = documented.content[mediaType];
    if (!media)
      return [`content type "${mediaType}" is not documented (documented: ${Object.keys(documented.content)})`];
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch {
      return [`body is not JSON: ${response.text.slice(0, 100)}`];
    }
    return this.validate(media.schema, body).map((error) => `body ${error}`);
  }

  private problemMismatches(
    response: Pick<Response, 'status' | 'headers' | 'text'>,
    status: number,
    codes: string[],
    schema: Schema,
  ): string[] {
    if (response.status !== status) return [`status ${response.status}, expected ${status} (no documented operation)`];
    if (!String(response.headers['content-type']).startsWith('application/problem+json'))
      return [`content type ${response.headers['content-type']} is not application/problem+json`];
    const body = JSON.parse(response.text) as { code?: string };
    const problems = this.validate(schema, body).map((error) => `body ${error}`);
    if (!codes.includes(body.code ?? '')) problems.push(`code ${body.code} is not ${codes.join(' or ')}`);
    return problems;
  }
}

/** `#/components/schemas/X` -> `openapi#/$defs/X`: the components are registered once, as `$defs`. */
const refsToDefs = <T>(node: T): T => {
  if (Array.isArray(node)) node.forEach(refsToDefs);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string')
        (node as Record<string, unknown>)[key] = value.replace('#/components/schemas/', 'openapi#/$defs/');
      else if (key !== 'example' && key !== 'examples') refsToDefs(value);
    }
  }
  return node;
};

type Target = Server | string;

const contracts = new WeakMap<object, Promise<OpenApiContract>>();
const urlContracts = new Map<string, Promise<OpenApiContract>>();

/** The contract of the app behind a server (or base URL): its /docs-json, fetched once. */
export const contractOf = (target: Target): Promise<OpenApiContract> => {
  const cached = typeof target === 'string' ? urlContracts.get(target) : contracts.get(target);
  if (cached) return cached;
  const loaded = supertest(target)
    .get('/docs-json')
    .then((response) => {
      if (response.status !== 200) throw new Error(`GET /docs-json answered ${response.status}`);
      return new OpenApiContract(response.body as OpenApiDocument);
    });
  if (typeof target === 'string') urlContracts.set(target, loaded);
  else contracts.set(target, loaded);
  return loaded;
};

/** Fails the awaiting test with everything in which the response disagrees with the document. */
export const assertDocumented = async (target: Target, response: Response): Promise<void> => {
  const { req } = response as Response & { req: { method: string; path: string } };
  const mismatches = (await contractOf(target)).mismatches(req.method, req.path, response);
  if (mismatches.length > 0) {
    throw new Error(
      `${req.method} ${req.path} -> ${response.status} disagrees with the OpenAPI document:\n  ` +
        `${mismatches.join('\n  ')}\n  body: ${response.text?.slice(0, 500)}`,
    );
  }
};

const defaultHeaders = new WeakMap<object, Readonly<Record<string, string>>>();
const urlDefaultHeaders = new Map<string, Readonly<Record<string, string>>>();

/**
 * Headers every request of `request(target)` carries unless the test sets its own (an app started with
 * AUTH_MODE=jwt gets an admin token, so suites written for AUTH_MODE=none run unchanged).
 */
export const setDefaultHeaders = (target: Target, headers: Readonly<Record<string, string>>): void => {
  if (typeof target === 'string') urlDefaultHeaders.set(target, headers);
  else defaultHeaders.set(target, headers);
};

/**
 * supertest, except that every response is checked against the app's OpenAPI document before the
 * test sees it. The e2e suites use this instead of importing supertest, so no call can skip the check.
 */
export const request = (target: Target) => {
  const agent = supertest(target);
  const headers = (typeof target === 'string' ? urlDefaultHeaders.get(target) : defaultHeaders.get(target)) ?? {};
  const checked = (test: Test): Test => {
    for (const [name, value] of Object.entries(headers)) test.set(name, value);
    const then = test.then.bind(test);
    test.then = ((onFulfilled, onRejected) =>
      then(async (response: Response) => {
        await assertDocumented(target, response);
        return response;
      }).then(onFulfilled, onRejected)) as Test['then'];
    return test;
  };
  return {
    get: (url: string) => checked(agent.get(url)),
    post: (url: string) => checked(agent.post(url)),
    put: (url: string) => checked(agent.put(url)),
    patch: (url: string) => checked(agent.patch(url)),
    delete: (url: string) => checked(agent.delete(url)),
    head: (url: string) => checked(agent.head(url)),
    options: (url: string) => checked(agent.options(url)),
  };
};

export type CheckedAgent = ReturnType<typeof request>;

/**
 * Plain supertest, for the one kind of app there is no document to check against: one started with
 * SWAGGER_ENABLED=false. Everything else goes through `request`.
 */
export const requestWithoutDocument = (target: Target) => supertest(target);
