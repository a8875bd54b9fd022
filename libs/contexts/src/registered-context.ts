import type { ContextModule } from '@app/platform';

/** One entry of the registry (contexts.json): the context's module, its service port and Swagger tags. */
export interface RegisteredContext {
  readonly name: string;
  readonly title: string;
  readonly module: ContextModule;
  /** Default port of the context's own service (`apps/<name>`). */
  readonly port: number;
  /** Descriptions of the `<name>: commands` and `<name>: queries` Swagger tags. */
  readonly tags: { readonly commands: string; readonly queries: string };
}
