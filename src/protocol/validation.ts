/**
 * Turns JSON-Schema (ajv) validation errors into one OpenAI error. ajv reports every failed branch of a
 * union (`anyOf`), so we pick the most useful one instead of the first: the error that got deepest into the
 * value (the branch the client most likely meant), preferring range errors over type mismatches.
 */
import { ApiError } from './errors.ts';

/** The subset of ajv's ErrorObject we read (keeps protocol/ independent of fastify and ajv types). */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params?: Record<string, unknown>;
  message?: string;
}

function segments(instancePath: string): string[] {
  return instancePath === '' ? [] : instancePath.slice(1).split('/');
}

/** `/messages/0/role` → `messages[0].role` */
export function paramName(segs: string[]): string | null {
  let out = '';
  for (const s of segs) {
    if (/^\d+$/.test(s)) out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out === '' ? null : out;
}

/** Orders error paths by how far validation got: longer first, then later array index / name. */
function deeper(a: string[], b: string[]): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    const na = Number(a[i]);
    const nb = Number(b[i]);
    if (Number.isInteger(na) && Number.isInteger(nb)) return na - nb;
    return 0;
  }
  return 0;
}

export function schemaErrorToApiError(errors: readonly SchemaError[]): ApiError {
  // `anyOf`/`oneOf` summary errors say nothing beyond their branches.
  const concrete = errors.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf');
  if (concrete.length === 0) {
    const e = errors[0];
    const param = e ? paramName(segments(e.instancePath)) : null;
    return new ApiError(400, `Invalid value${param ? ` for '${param}'` : ''}: ${e?.message ?? 'invalid request'}`, {
      param,
      code: 'invalid_value',
    });
  }
  let best = concrete[0];
  for (const e of concrete.slice(1)) {
    const d = deeper(segments(e.instancePath), segments(best.instancePath));
    if (d > 0 || (d === 0 && best.keyword === 'type' && e.keyword !== 'type' && e.instancePath === best.instancePath)) {
      best = e;
    }
  }

  const segs = segments(best.instancePath);
  if (best.keyword === 'required') {
    const missing = String(best.params?.missingProperty ?? '');
    const param = paramName([...segs, missing]);
    return new ApiError(400, `Missing required parameter: '${param}'.`, { param, code: 'missing_required_parameter' });
  }
  const param = paramName(segs);
  const where = param ? `'${param}'` : 'the request body';
  if (best.keyword === 'type') {
    // Merge the type alternatives at this path ("must be string or array"); `null` is accepted everywhere as
    // "default" and would only confuse the message.
    const types = new Set<string>();
    for (const e of concrete) {
      if (e.keyword === 'type' && e.instancePath === best.instancePath) {
        const t = String(e.params?.type ?? '');
        if (t !== 'null') types.add(t);
      }
    }
    const list = types.size > 0 ? [...types].join(' or ') : 'null';
    return new ApiError(400, `Invalid type for ${where}: expected ${list}.`, { param, code: 'invalid_value' });
  }
  return new ApiError(400, `Invalid value for ${where}: ${best.message ?? 'invalid'}.`, {
    param,
    code: 'invalid_value',
  });
}
