import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../src/cli/args.ts';
import { parseServeArgs } from '../../src/cli/serve.ts';
import { SERVE_DEFAULTS } from '../../src/config/server-config.ts';

const BIN = fileURLToPath(new URL('../../bin/tsdeploy.mjs', import.meta.url));

describe('tsdeploy serve flags', () => {
  it('applies defaults and FastDeploy flag spellings (dashes or underscores, --flag=value)', () => {
    const cfg = parseServeArgs(['--model', 'm', '--max_model_len=1024', '--enable-logprob', '--no-enable-prefix-caching']);
    assert.ok(cfg !== 'help');
    assert.equal(cfg.model, 'm');
    assert.equal(cfg.maxModelLen, 1024);
    assert.equal(cfg.enableLogprob, true);
    assert.equal(cfg.enablePrefixCaching, false);
    assert.equal(cfg.enableChunkedPrefill, SERVE_DEFAULTS.enableChunkedPrefill);
    assert.equal(cfg.port, SERVE_DEFAULTS.port);
  });

  for (const [argv, message] of [
    [['--model', 'm', '--bogus', '1'], /unknown flag '--bogus'/],
    [['--port', '80'], /--model is required/],
    [['--model', 'm', '--port', 'x'], /--port expects an integer/],
    [['--model', 'm', '--max-model-len', '0'], /--max-model-len must be positive/],
    [['--model', 'm', '--quantization', 'int3'], /--quantization must be one of wint8, wint4/],
    [['--model', 'm', '--served-model-name'], /--served-model-name needs a value/],
  ] as const) {
    it(`rejects ${argv.join(' ')}`, () => {
      assert.throws(() => parseServeArgs([...argv]), (e: unknown) => e instanceof UsageError && message.test(e.message));
    });
  }

  it('the command exits with status 2 and a clear message on a bad flag', () => {
    const r = spawnSync(process.execPath, [BIN, 'serve', '--model', 'x', '--no-such-flag'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /tsdeploy: unknown flag '--no-such-flag'/);
  });

  it('a missing model path is reported, not a stack trace', () => {
    const r = spawnSync(process.execPath, [BIN, 'serve', '--model', '/nonexistent/model', '--port', '0'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /model path \/nonexistent\/model does not exist/);
  });
});
