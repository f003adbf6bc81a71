#!/usr/bin/env node
// Builds the native addon with node-gyp against the headers of the running Node.js.
// node-gyp would otherwise try to download headers, which fails on machines without internet,
// so we derive --nodedir from this Node's own installation prefix.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const prefix = dirname(dirname(process.execPath));
const candidates = [process.env.npm_config_nodedir, prefix, '/usr', '/usr/local'].filter(Boolean);
const nodedir = candidates.find((d) => existsSync(join(d, 'include', 'node', 'node_api.h')));
if (!nodedir) {
  console.error(`tsdeploy: Node.js headers not found (looked for include/node/node_api.h under ${candidates.join(', ')}).`);
  console.error('Install the Node.js development headers or set npm_config_nodedir.');
  process.exit(1);
}
const require = createRequire(import.meta.url);
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  // node-gyp ships inside npm itself; fall back to it when the devDependency is absent.
  gyp = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
}
const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, `-j`, '2'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
