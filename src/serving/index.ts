/** Endpoint logic, independent of the HTTP framework: what server/ mounts on routes. */
import { ChatCompletionHandler } from './chat.ts';
import { CompletionHandler } from './completion.ts';
import { ServingContext } from './context.ts';
import { listModels } from './models.ts';
import type { ServingOptions } from './options.ts';

export type { ServingOptions } from './options.ts';
export type { HandlerResult } from './result.ts';

export interface Serving {
  chat: ChatCompletionHandler;
  completions: CompletionHandler;
  models: () => ReturnType<typeof listModels>;
}

export function createServing(opts: ServingOptions): Serving {
  const ctx = new ServingContext(opts);
  return {
    chat: new ChatCompletionHandler(ctx),
    completions: new CompletionHandler(ctx),
    models: () => listModels(opts),
  };
}
