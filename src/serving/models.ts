/** GET /v1/models (api-spec §3.4): exactly one entry, the served model. */
import { randomBytes } from 'node:crypto';
import type { ModelList } from '../protocol/responses.ts';
import { nowSeconds } from './context.ts';
import type { ServingOptions } from './options.ts';
import { responseModelName } from './options.ts';

export function listModels(opts: ServingOptions): ModelList {
  const created = nowSeconds();
  return {
    object: 'list',
    data: [
      {
        id: responseModelName(opts),
        object: 'model',
        created,
        owned_by: 'FastDeploy',
        root: opts.modelPath,
        parent: null,
        max_model_len: opts.maxModelLen,
        permission: [
          {
            id: `modelperm-${randomBytes(16).toString('hex')}`,
            object: 'model_permission',
            created,
            allow_create_engine: false,
            allow_sampling: true,
            allow_logprobs: true,
            allow_search_indices: false,
            allow_view: true,
            allow_fine_tuning: false,
            organization: '*',
            group: null,
            is_blocking: false,
          },
        ],
      },
    ],
  };
}
