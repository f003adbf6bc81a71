/**
 * The addon wrapper: ISA selection at load (TSDEPLOY_ISA, TSDEPLOY_AMX, checked in child processes), the raw
 * addon's own argument checks, and mapFile / releasePages.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { native, supportedIsas } from '../../src/native/index.ts';

const fixture = fileURLToPath(new URL('./fixtures/print-isa.ts', import.meta.url));

interface LoadChoice {
  isa: string;
  supported: string[];
  amx: boolean;
  amxSupported: boolean;
  stderr: string;
}

function isaWithEnv(value: string | undefined, amx?: string): LoadChoice {
  const env = { ...process.env };
  if (value === undefined) delete env.TSDEPLOY_ISA;
  else env.TSDEPLOY_ISA = value;
  if (amx === undefined) delete env.TSDEPLOY_AMX;
  else env.TSDEPLOY_AMX = amx;
  const r = spawnSync(process.execPath, ['--import', 'tsx', fixture], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { ...JSON.parse(r.stdout), stderr: r.stderr };
}

describe('ISA selection at load', () => {
  const supported = supportedIsas();
  const best = supported.at(-1);

  it('defaults to the best supported path', () => {
    const r = isaWithEnv(undefined);
    assert.deepEqual(r.supported, supported);
    assert.equal(r.isa, best);
  });

  for (const isa of supported) {
    it(`TSDEPLOY_ISA=${isa} forces that path`, () => {
      assert.equal(isaWithEnv(isa).isa, isa);
    });
  }

  it('uses AMX tiles where supported unless TSDEPLOY_AMX=0', () => {
    const r = isaWithEnv(undefined);
    assert.equal(r.amx, r.amxSupported);
    assert.equal(isaWithEnv(undefined, '0').amx, false);
  });

  it('falls back to the best path with a warning for unknown or unsupported values', () => {
    const r = isaWithEnv('neon');
    assert.equal(r.isa, best);
    assert.match(r.stderr, /ignoring TSDEPLOY_ISA=neon/);
    for (const isa of ['avx2', 'avx512'].filter((i) => !supported.includes(i as 'avx2'))) {
      const u = isaWithEnv(isa);
      assert.equal(u.isa, best);
      assert.match(u.stderr, /not supported by this CPU/);
    }
  });
});

describe('raw addon argument checks', () => {
  // The wrapper checks sizes first; the addon must still refuse anything that would overrun memory.
  const addon = createRequire(import.meta.url)('../../build/Release/tsdeploy_native.node');
  const f32 = (n: number) => new Float32Array(n);

  it('rejects wrong array types and short buffers', () => {
    assert.throws(
      () => addon.matmul(new Float64Array(4), f32(4), 1, 0, 1, 4, new Uint8Array(16)),
      /y must be a Float32Array/,
    );
    assert.throws(() => addon.matmul(f32(1), f32(3), 1, 0, 1, 4, new Uint8Array(16)), /x has 3 elements/);
    assert.throws(() => addon.matmul(f32(1), f32(4), 1, 0, 1, 4, new Uint8Array(15)), /w\.data has 15 bytes/);
    assert.throws(() => addon.matmul(f32(1), f32(4), 1, 99, 1, 4, new Uint8Array(16)), /unsupported ggml type 99/);
    assert.throws(() => addon.matmul(f32(1), f32(4), -1, 0, 1, 4, new Uint8Array(16)), /T must be an integer/);
    assert.throws(() => addon.rmsNorm(f32(4), f32(4), f32(3), 1, 4, 1e-5), /weight has 3/);
    assert.throws(() => addon.rope(f32(8), 1, 1, 8, new Int32Array(1), f32(3), 0), /invFreq has 3/);
    assert.throws(() => addon.rope(f32(7), 1, 1, 7, new Int32Array(1), f32(4), 0), /headDim must be even/);
    assert.throws(() => addon.swiglu(f32(4), f32(4), f32(3), 4), /up has 3/);
    assert.throws(() => addon.kvStore(f32(8), f32(8), f32(3), f32(4), 1, 4, new Int32Array(1)), /k has 3/);
    assert.throws(
      () =>
        addon.attention(
          f32(8),
          f32(7),
          f32(8),
          f32(8),
          1,
          1,
          1,
          8,
          1,
          Int32Array.of(0),
          Int32Array.of(0),
          Int32Array.of(0),
          1,
          1,
        ),
      /q has 7/,
    );
  });
});

describe('mapFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsdeploy-native-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('maps a file read-only as an ArrayBuffer', () => {
    const path = join(dir, 'w.bin');
    writeFileSync(path, Uint8Array.of(1, 2, 3, 250));
    const buf = native.mapFile(path);
    assert.deepEqual(Array.from(new Uint8Array(buf)), [1, 2, 3, 250]);
    assert.throws(() => native.mapFile(join(dir, 'missing.bin')), /cannot open/);
  });

  it('releasePages drops file pages that read back unchanged, and refuses other memory', () => {
    const path = join(dir, 'big.bin');
    const content = Uint8Array.from({ length: 5 * 4096 + 123 }, (_, i) => (i * 31 + 7) & 0xff);
    writeFileSync(path, content);
    const view = new Uint8Array(native.mapFile(path), 100, 4 * 4096);
    assert.equal(view.reduce((a, b) => a + b, 0) > 0, true); // touch the pages
    assert.equal(native.releasePages(view), true);
    assert.deepEqual(Buffer.from(view), Buffer.from(content.subarray(100, 100 + 4 * 4096)));
    const heap = content.slice();
    assert.equal(native.releasePages(heap), false);
    assert.deepEqual(heap, content);
  });
});
