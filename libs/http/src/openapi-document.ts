// The OpenAPI document describes the server as configured: the API's conventions in its description, every
// request body schema closed (`additionalProperties: false`, as the validation pipe refuses unknown
// properties), only the tags of the routes this app's role serves, and with AUTH_MODE=none no security
// (no operation checks a token then, so a client or fuzzer reading it must not send or expect one).
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { BEARER_SCHEME } from './auth/access.decorators.js';
import { ProblemDetails } from './problem-details.js';

const API_CONVENTIONS = [
  'Errors are RFC 9457 `application/problem+json` with a stable `code`; each operation lists the codes of each status.',
  'Request bodies are JSON objects (`application/json`, UTF-8; anything else: 415 `UNSUPPORTED_MEDIA_TYPE`) and',
  'may carry no property the schema does not list. A method a path does not list answers 405',
  '`METHOD_NOT_ALLOWED` with an `Allow` header; an unknown path answers 404 `NOT_FOUND`.',
  'With `AUTH_MODE=jwt` operations need `Authorization: Bearer <JWT>` (401 without a valid one, 403 without the role);',
  'a customer (`sub`) sees and changes only its own orders. Too many requests answer 429 `RATE_LIMITED`.',
].join(' ');

export interface OpenApiDocumentOptions {
  readonly title: string;
  readonly description: string;
  /** Swagger tags (one per bounded context) with their descriptions. */
  readonly tags: readonly { name: string; description: string }[];
  /** Operations check bearer tokens (AUTH_MODE=jwt, the default here); false: the document declares no security. */
  readonly authenticated?: boolean;
}

/** Builds the OpenAPI document of the app's routes and serves it at /docs-json, Swagger UI at /docs. */
export const setUpSwagger = (app: INestApplication, options: OpenApiDocumentOptions): void => {
  const builder = new DocumentBuilder()
    .setTitle(options.title)
    .setDescription(`${options.description}\n\n${API_CONVENTIONS}`)
    .setVersion('1.0')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'A JWT whose `sub` is the customer id and `roles` its roles',
      },
      BEARER_SCHEME,
    );
  const document = SwaggerModule.createDocument(app, builder.build(), { extraModels: [ProblemDetails] });
  closeRequestSchemas(document);
  if (options.authenticated === false) withoutSecurity(document);
  // Only the tags this app's role serves (a command-only process lists no query tag), in declared order.
  const used = new Set(Object.values(document.paths).flatMap((item) => Object.values(item).flatMap(tagsOf)));
  document.tags = options.tags.filter((tag) => used.has(tag.name)).map((tag) => ({ ...tag }));
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
};

const tagsOf = (operation: unknown): string[] => (operation as { tags?: string[] } | undefined)?.tags ?? [];

interface SchemaNode {
  $ref?: string;
  type?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  allOf?: SchemaNode[];
  additionalProperties?: boolean | SchemaNode;
}

/**
 * The validation pipe refuses unknown properties (forbidNonWhitelisted), so every object schema a
 * request body reaches says so: `additionalProperties: false`.
 */
const closeRequestSchemas = (document: OpenAPIObject): void => {
  const schemas = (document.components?.schemas ?? {}) as Record<string, SchemaNode>;
  const seen = new Set<SchemaNode>();
  const close = (node: SchemaNode | undefined): void => {
    if (!node || seen.has(node)) return;
    seen.add(node);
    if (node.$ref) return close(schemas[node.$ref.split('/').pop()!]);
    if (node.type === 'object' || node.properties) node.additionalProperties = false;
    Object.values(node.properties ?? {}).forEach(close);
    close(node.items);
    node.allOf?.forEach(close);
  };
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as {
      requestBody?: { content?: Record<string, { schema?: SchemaNode }> };
    }[]) {
      for (const media of Object.values(operation?.requestBody?.content ?? {})) close(media.schema);
    }
  }
};

/** Drops every operation's `security` and the document's security schemes (AUTH_MODE=none). */
const withoutSecurity = (document: OpenAPIObject): void => {
  delete document.security;
  if (document.components) delete document.components.securitySchemes;
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as ({ security?: unknown } | undefined)[]) {
      if (operation && typeof operation === 'object') delete operation.security;
    }
  }
};
