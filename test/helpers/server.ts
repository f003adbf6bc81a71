import { type LaunchedServer, launchServer } from '../../src/bench/launch.ts';

export type RunningServer = LaunchedServer;

/** Starts a real `tsdeploy serve` process on a free loopback port and waits until it serves. */
export function startServer(args: string[], timeoutMs = 60_000): Promise<RunningServer> {
  return launchServer(args, timeoutMs);
}

// biome-ignore lint/suspicious/noExplicitAny: tests index into arbitrary response JSON
export async function postJson(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}
