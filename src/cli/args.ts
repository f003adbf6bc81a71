/**
 * A small flag parser with FastDeploy's conventions: `--flag value` or `--flag=value`, dashes and
 * underscores interchangeable, booleans as bare switches with a `--no-` form, unknown flags rejected.
 */
export type FlagType = 'string' | 'int' | 'float' | 'bool';

export interface FlagSpec {
  name: string;
  type: FlagType;
  help: string;
  /** shown in --help */
  defaultText?: string;
}

export class UsageError extends Error {}

export type ParsedFlags = Record<string, string | number | boolean>;

/** Canonical form of a flag name: lower case with dashes. */
function canonical(name: string): string {
  return name.replace(/_/g, '-').toLowerCase();
}

/** `command` names the subcommand in error messages (e.g. 'serve', 'make-model'). */
export function parseFlags(argv: string[], specs: FlagSpec[], command = 'serve'): ParsedFlags {
  const byName = new Map(specs.map((s) => [canonical(s.name), s]));
  const out: ParsedFlags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    let name = canonical(arg.slice(2, eq < 0 ? undefined : eq));
    let inline = eq < 0 ? undefined : arg.slice(eq + 1);
    let negated = false;
    if (!byName.has(name) && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'bool') {
      name = name.slice(3);
      negated = true;
    }
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag '--${name}' (see 'tsdeploy ${command} --help')`);
    if (spec.type === 'bool') {
      if (negated && inline !== undefined) throw new UsageError(`--no-${name} takes no value`);
      out[name] = negated ? false : inline === undefined ? true : parseBool(name, inline);
      continue;
    }
    if (inline === undefined) {
      if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) throw new UsageError(`--${name} needs a value`);
      inline = argv[++i];
    }
    out[name] = convert(spec, inline);
  }
  return out;
}

function parseBool(name: string, v: string): boolean {
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  throw new UsageError(`--${name} expects true or false, got '${v}'`);
}

function convert(spec: FlagSpec, v: string): string | number {
  if (spec.type === 'string') return v;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (spec.type === 'int' && !Number.isInteger(n))) {
    throw new UsageError(`--${spec.name} expects ${spec.type === 'int' ? 'an integer' : 'a number'}, got '${v}'`);
  }
  return n;
}

export function formatHelp(command: string, specs: FlagSpec[]): string {
  const rows = specs.map((s) => {
    const flag = `--${s.name}${s.type === 'bool' ? '' : ` <${s.type}>`}`;
    const def = s.defaultText ? ` (default: ${s.defaultText})` : '';
    return `  ${flag.padEnd(34)} ${s.help}${def}`;
  });
  return `usage: ${command} [flags]\n\n${rows.join('\n')}\n`;
}
