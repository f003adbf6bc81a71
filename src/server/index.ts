export { createServer, type ServerOptions } from './app.ts';
