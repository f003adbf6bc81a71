// Worker threads do not inherit loader hooks registered with module.register(), so the encode
// worker registers tsx itself before importing its TypeScript entry point.
import { register } from 'tsx/esm/api';

register();
await import('./encode-worker.ts');
