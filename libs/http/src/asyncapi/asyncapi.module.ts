/**
 * Serves the AsyncAPI document of the system's events at /asyncapi.json and a readable page at /asyncapi,
 * rendered by the AsyncAPI project's own React component (@asyncapi/react-component, its standalone browser
 * bundle and stylesheet served from node_modules: no CDN). The document comes from the app's definition
 * (libs/contexts builds it from the contracts and the contexts registry).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Controller, Get, Header, Inject, Module, type DynamicModule } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';

export const ASYNCAPI_DOCUMENT = Symbol('ASYNCAPI_DOCUMENT');

const require = createRequire(import.meta.url);
const assets = new Map<string, string>();
/** A file of the component, read once on first use. */
const asset = (file: string): string => {
  if (!assets.has(file)) assets.set(file, readFileSync(require.resolve(`@asyncapi/react-component/${file}`), 'utf8'));
  return assets.get(file)!;
};

const PAGE_POLICY = [
  "default-src 'self'",
  "base-uri 'self'",
  "font-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self' 'unsafe-eval'",
  "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline'",
].join(';');

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>AsyncAPI: events and live feeds</title>
<link rel="stylesheet" href="/asyncapi/assets/default.min.css">
</head>
<body>
<div id="asyncapi">Loading /asyncapi.json ...</div>
<script src="/asyncapi/assets/standalone.js"></script>
<script src="/asyncapi/assets/render.js"></script>
</body>
</html>
`;

const RENDER = `fetch('/asyncapi.json').then(function (r) { return r.json(); }).then(function (schema) {
  AsyncApiStandalone.render({ schema: schema, config: { show: { sidebar: true } } }, document.getElementById('asyncapi'));
});
`;

/** Public documentation, like /docs-json: outside the OpenAPI document. */
@ApiExcludeController()
@Controller('asyncapi.json')
class AsyncApiDocumentController {
  constructor(@Inject(ASYNCAPI_DOCUMENT) private readonly document: () => object) {}

  @Get()
  get(): object {
    return this.document();
  }
}

@ApiExcludeController()
@Controller('asyncapi')
class AsyncApiPageController {
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  // The component validates the document with ajv, which compiles schemas to functions: this page alone
  // allows eval (it runs only the component's code on the API's own document); every other page keeps
  // the API's strict policy.
  @Header('Content-Security-Policy', PAGE_POLICY)
  page(): string {
    return PAGE;
  }

  @Get('assets/standalone.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'public, max-age=3600')
  script(): string {
    return asset('browser/standalone/index.js');
  }

  @Get('assets/render.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  render(): string {
    return RENDER;
  }

  @Get('assets/default.min.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('Cache-Control', 'public, max-age=3600')
  styles(): string {
    return asset('styles/default.min.css');
  }
}

@Module({})
export class AsyncApiModule {
  static forRoot(document: () => object): DynamicModule {
    let built: object | undefined;
    return {
      module: AsyncApiModule,
      controllers: [AsyncApiDocumentController, AsyncApiPageController],
      providers: [{ provide: ASYNCAPI_DOCUMENT, useValue: () => (built ??= document()) }],
    };
  }
}
