/**
 * The one place the model loaders get file bytes from: a read-only memory map from the native
 * addon, so weight matrices can be zero-copy views into the page cache (the mapping lives as
 * long as any view of the returned buffer is reachable).
 */
import { native } from '../native/index.ts';

/** Memory-map `path` read-only. */
export function mapFileReadOnly(path: string): ArrayBuffer {
  return native.mapFile(path);
}
