/**
 * The `ftunet` command line: a thin shell over the library. Each command lives in
 * `src/cli/commands/<name>.ts` and exports `register(program)`.
 *
 * Exit codes: 0 success, 2 a user error (bad flag, bad input, a file system that refuses a
 * write (src/io/fs_errors.ts); one line on stderr),
 * 1 a bug (stack trace), 130 (Ctrl-C) or 143 (SIGTERM) training interrupted (see interrupt.ts).
 */
import { Command, CommanderError } from 'commander';
import { InterruptedError, UserError } from '../errors.js';
import { describeFileSystemError } from '../io/fs_errors.js';
import { interrupts } from './interrupt.js';
import { packageVersion } from './version.js';
import * as summary from './commands/summary.js';
import * as inspect from './commands/inspect.js';
import * as synth from './commands/synth.js';
import * as evaluate from './commands/evaluate.js';
import * as predict from './commands/predict.js';
import * as exportCommand from './commands/export.js';
import * as app from './commands/app.js';
import * as train from './commands/train.js';
import * as ablation from './commands/ablation.js';
import * as ablationReport from './commands/ablation_report.js';
import * as quickstart from './commands/quickstart.js';
import * as report from './commands/report.js';

const COMMANDS = [
  quickstart,
  summary,
  inspect,
  synth,
  train,
  evaluate,
  predict,
  exportCommand,
  app,
  report,
  ablation,
  ablationReport,
];

/** Commander's error text as one line, e.g. "ftunet summary: unknown option '--x' (see --help)". */
function oneLine(str: string, prefix: string, suffix = ''): string {
  const text = str
    .trim()
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ');
  return `${prefix}${text}${suffix}\n`;
}

export function buildProgram(): Command {
  const program = new Command('ftunet')
    .description(
      'Focal Tversky loss and attention U-Net for lesion segmentation (Abraham & Khan, ISBI 2019)',
    )
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      outputError: (str, write) => write(oneLine(str, 'ftunet: ')),
    });
  for (const c of COMMANDS) c.register(program);
  for (const cmd of program.commands) {
    cmd.exitOverride().configureOutput({
      outputError: (str, write) => write(oneLine(str, `ftunet ${cmd.name()}: `, ' (see --help)')),
    });
    checkRequiredOptionsLast(cmd);
  }
  return program;
}

/**
 * Commander checks required options before unknown ones, so that `predict --modle X` would
 * say "required option '--model <dir>' not specified" and never "(Did you mean --model?)".
 * The required options of `cmd` are checked here instead, just before its action: after
 * commander has reported an unknown option, a bad value or a missing argument, with
 * commander's own message.
 */
function checkRequiredOptionsLast(cmd: Command): void {
  const required = cmd.options.filter((o) => o.mandatory);
  for (const o of required) o.mandatory = false;
  if (required.length === 0) return;
  cmd.hook('preAction', () => {
    for (const o of required) {
      if (cmd.getOptionValue(o.attributeName()) === undefined) {
        cmd.error(`error: required option '${o.flags}' not specified`, {
          code: 'commander.missingMandatoryOptionValue',
        });
      }
    }
  });
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    interrupts.cleanup(); // before any message: stops a progress bar and restores the terminal
    if (err instanceof CommanderError) {
      // Commander already printed its message (or the help/version text).
      if (err.exitCode === 0) return 0;
      return 2;
    }
    if (err instanceof InterruptedError) {
      process.stderr.write(`ftunet: ${interrupts.describe(err)}\n`);
      return interrupts.exitCode();
    }
    if (err instanceof UserError) {
      process.stderr.write(`ftunet: ${err.message}\n`);
      return 2;
    }
    // A read-only file system, permissions, a full disk: the machine's condition, not a bug.
    const condition = await describeFileSystemError(err);
    if (condition !== undefined) {
      process.stderr.write(`ftunet: ${condition}\n`);
      return 2;
    }
    process.stderr.write(`ftunet: internal error (a bug, please report it)\n`);
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  } finally {
    interrupts.cleanup();
  }
}
