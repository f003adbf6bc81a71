/**
 * The one place the model loaders get file bytes from: a read-only memory map from the native
 * addon, so weight matrices can be zero-copy views into the page cache.
 *
 * TODO: switch to `native.mapFile` from ../native/index.ts once that wrapper exists; the addon
 * is loaded directly until then.
 */
import { createRequire } from 'node:module';

type MapFile = (path: string) => ArrayBuffer;

let mapFileImpl: MapFile | undefined;

/** Memory-map `path` read-only. The mapping lives as long as the returned buffer is reachable. */
export function mapFileReadOnly(path: string): ArrayBuffer {
  if (!mapFileImpl) {
    const addon = createRequire(import.meta.url)('../../build/Release/tsdeploy_native.node') as { mapFile: MapFile };
    mapFileImpl = addon.mapFile;
  }
  return mapFileImpl(path);
}
