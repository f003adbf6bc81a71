/**
 * Acceptance: `tsdeploy bench serve` against a real `tsdeploy serve` process with stories260K.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { benchServe } from '../../src/bench/serve.ts';
import { parseBenchArgs } from '../../src/cli/bench.ts';
import { STORIES_HF } from '../helpers/models.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';

const BIN = fileURLToPath(new URL('../../bin/tsdeploy.mjs', import.meta.url));

function runCli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('bench serve against tsdeploy serve (stories260K)', () => {
  let server: RunningServer;
  let dir: string;
  before(async () => {
    server = await startServer(['--model', STORIES_HF]);
    dir = mkdtempSync(join(tmpdir(), 'tsdeploy-bench-'));
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('random token-id prompts: 8 requests, concurrency 4, exactly 8 output tokens each', async () => {
    const { code, out } = await runCli([
      'bench',
      'serve',
      '--base-url',
      server.url,
      '--num-prompts',
      '8',
      '--max-concurrency',
      '4',
      '--random-input-len',
      '16',
      '--random-output-len',
      '8',
      '--vocab-size',
      '512',
      '--ignore-eos',
      '--save-result',
      '--save-detailed',
      '--result-dir',
      dir,
      '--result-filename',
      'random.json',
    ]);
    assert.equal(code, 0, out);
    assert.match(out, /=+ Serving Benchmark Result =+/);
    assert.match(out, /Successful requests:\s+8\n/);
    assert.match(out, /Mean TPOT \(ms\):/);
    const r = JSON.parse(readFileSync(join(dir, 'random.json'), 'utf8'));
    assert.equal(r.completed, 8);
    assert.equal(r.failed, 0);
    assert.equal(r.total_input_tokens, 8 * 16);
    assert.equal(r.total_output_tokens, 8 * 8);
    assert.equal(r.max_concurrency, 4);
    assert.ok(r.max_concurrent_requests <= 4);
    assert.equal(r.request_rate, 'inf');
    assert.deepEqual(r.output_lens, new Array(8).fill(8));
    assert.ok(r.itls.every((l: number[]) => l.length >= 1 && l.length <= 7));
    for (const k of [
      'duration',
      'request_throughput',
      'output_throughput',
      'total_token_throughput',
      'mean_ttft_ms',
      'median_ttft_ms',
      'p99_ttft_ms',
      'mean_tpot_ms',
      'median_tpot_ms',
      'p99_tpot_ms',
      'mean_itl_ms',
      'median_itl_ms',
      'p99_itl_ms',
      'mean_e2el_ms',
      'median_e2el_ms',
      'p99_e2el_ms',
    ]) {
      assert.equal(typeof r[k], 'number', k);
      assert.ok(r[k] >= 0, `${k} = ${r[k]}`);
    }
    assert.ok(r.mean_ttft_ms > 0 && r.mean_e2el_ms >= r.mean_ttft_ms);
  });

  it('prefix-repetition over chat with Poisson arrivals (in-process)', async () => {
    const cfg = parseBenchArgs([
      'serve',
      '--base-url',
      server.url,
      '--endpoint',
      '/v1/chat/completions',
      '--tokenizer',
      STORIES_HF,
      '--dataset-name',
      'prefix-repetition',
      '--num-prompts',
      '6',
      '--prefix-len',
      '48',
      '--suffix-len',
      '4',
      '--num-prefixes',
      '2',
      '--output-len',
      '5',
      '--request-rate',
      '50',
      '--ignore-eos',
    ]);
    assert.notEqual(cfg, 'help');
    if (cfg === 'help') return;
    let printed = '';
    const res = await benchServe(cfg, { out: (t) => (printed += t), err: () => {}, progress: false });
    assert.equal(res.metrics.completed, 6, printed);
    assert.equal(res.metrics.failed, 0);
    assert.equal(res.metrics.total_output_tokens, 6 * 5);
    // decoded text re-tokenizes to roughly the intended length, plus the chat template's tokens
    assert.ok(
      res.results.every((r) => r.usageReported && r.promptLen > 20),
      printed,
    );
  });

  it('a request the server rejects counts as failed with its message', async () => {
    const { code, out } = await runCli([
      'bench',
      'serve',
      '--base-url',
      server.url,
      '--num-prompts',
      '2',
      '--random-input-len',
      '600',
      '--random-output-len',
      '4',
    ]);
    assert.equal(code, 1, out);
    assert.match(out, /Failed requests:\s+2\n/);
    assert.match(out, /HTTP 400: .*max_model_len/);
  });
});
