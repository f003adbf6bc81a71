import { parseServeArgs, serve, serveHelp } from './serve.ts';
import { UsageError } from './args.ts';
import { makeModel, makeModelHelp, parseMakeModelArgs } from './make-model.ts';
import { benchHelp, parseBenchArgs, runBench } from './bench.ts';

const USAGE = `usage: tsdeploy <command> [flags]

commands:
  serve       start the OpenAI-compatible server (tsdeploy serve --help)
  bench serve benchmark an OpenAI-compatible server (tsdeploy bench serve --help)
  make-model  write a random-weight model of a named shape as HF/GGUF files (tsdeploy make-model --help)
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve': {
        const cfg = parseServeArgs(rest);
        if (cfg === 'help') {
          process.stdout.write(serveHelp());
          return 0;
        }
        const stop = await serve(cfg);
        const shutdown = (): void => {
          stop().then(
            () => process.exit(0),
            () => process.exit(1),
          );
        };
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
        return -1; // keep running
      }
      case 'make-model': {
        const args = parseMakeModelArgs(rest);
        if (args === 'help') process.stdout.write(makeModelHelp());
        else makeModel(args);
        return 0;
      }
      case 'bench': {
        const cfg = parseBenchArgs(rest);
        if (cfg === 'help') {
          process.stdout.write(benchHelp());
          return 0;
        }
        return await runBench(cfg);
      }
      case undefined:
      case '--help':
      case 'help':
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`tsdeploy: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`tsdeploy: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
