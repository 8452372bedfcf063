/**
 * `ftunet ablation`: the seven rows of the paper's Tables 1-2, each trained and evaluated on
 * every fold of one shared split, as independent units that can be selected (--variant,
 * --fold, --shard) and resumed. A thin shell over `runAblation` (src/ablation/run.ts) and
 * `ablationReport` (src/ablation/table_files.ts).
 */
import type { Command } from 'commander';
import { initBackend } from '../../backend/select.js';
import { DEFAULT_LOCK_TIMEOUT_MS, describeLock, parseDuration } from '../../io/lock.js';
import { ablationReport } from '../../ablation/table_files.js';
import { describeStudyEnsemble, studyEnsemble } from '../../ablation/ensemble.js';
import { runAblation, type AblationCallbacks, type UnitOutcome } from '../../ablation/run.js';
import { STUDY_SETTING_NAMES, type AblationSettingsInput } from '../../ablation/settings.js';
import { DEFAULT_FOLDS } from '../../data/splits.js';
import {
  parseFoldList,
  parseShard,
  parseVariantList,
  type AblationUnit,
  type Shard,
  type UnitSelection,
} from '../../ablation/units.js';
import { ABLATION_VARIANT_IDS, ablationVariant } from '../../ablation/variants.js';
import { UserError } from '../../errors.js';
import { interrupts } from '../interrupt.js';
import { DSC_LEGEND, formatEpoch } from '../train_progress.js';
import { ftunetCommand } from '../../util/shell.js';
import {
  addFlags,
  FLAGS,
  settingAttribute,
  surfaceOptionsFromFlags,
  type FlagName,
  type FlagValues,
} from '../flags.js';
import { formatEmptyDistance } from '../../metrics/surface_policy.js';
import { fromLibrary, integer } from '../parse.js';
import { packageVersion } from '../version.js';

/** The parsed flags of `ftunet ablation` (undefined: not given). */
interface AblationFlags extends Omit<FlagValues, 'fold'> {
  out?: string;
  folds?: number;
  variant?: string;
  fold?: string;
  shard?: string;
  lockTimeout?: number;
  extraVariant?: string[];
  wait: boolean;
}

/** The settings given on the command line; left-out ones stay undefined (see settings.ts). */
function settingsFromFlags(f: AblationFlags): AblationSettingsInput {
  const flags = f as unknown as Record<string, unknown>;
  const s: Record<string, unknown> = { folds: f.folds, extraVariants: f.extraVariant };
  for (const name of STUDY_SETTING_NAMES) s[name] = flags[settingAttribute(name) ?? ''];
  for (const key of Object.keys(s)) {
    if (s[key] === undefined) delete s[key];
  }
  return s as AblationSettingsInput;
}

/** The flags of the training settings a study records, in the schema's order. */
const STUDY_FLAG_NAMES = STUDY_SETTING_NAMES.flatMap((name) => {
  const attribute = settingAttribute(name) as FlagName | undefined;
  return attribute === undefined || attribute === 'dataset' || attribute === 'data'
    ? []
    : [attribute];
});

/**
 * The selection of units. The lists are checked as the flags are parsed; they are kept as
 * given so that the command that continues the selection repeats them.
 */
function selectionFromFlags(f: AblationFlags): UnitSelection {
  return {
    ...(f.variant !== undefined ? { variants: parseVariantList(f.variant, '--variant') } : {}),
    ...(f.fold !== undefined ? { folds: parseFoldList(f.fold, '--fold') } : {}),
    ...(f.shard !== undefined ? { shard: parseShard(f.shard, process.env, '--shard') } : {}),
  };
}

/** An extra row's id, checked as the flag is read. */
const parseExtra = fromLibrary((text, flag) => ablationVariant(text, flag).id, '--extra-variant');

/** Checks a flag's text with `parse` as it is read, and keeps the text. */
function checked<T>(parse: (text: string) => T): (text: string) => string {
  return (text) => {
    parse(text);
    return text;
  };
}

export function register(program: Command): void {
  const command = program
    .command('ablation')
    .description(
      "the paper's ablation (Tables 1-2): 7 variants (and any --extra-variant rows) x k folds of one shared split, each " +
        'trained and evaluated in its own unit folder; finished units are skipped, so a study ' +
        'resumes and can be spread over machines sharing DIR (--shard)',
    )
    .option('--out <dir>', 'the study folder (made on the first run, continued after)');
  addFlags(command, ['dataset', 'data']);
  command.option(
    '--folds <k>',
    `folds of the shared k-fold split (default ${DEFAULT_FOLDS})`,
    integer(2),
  );
  addFlags(command, STUDY_FLAG_NAMES);
  command
    .option(
      '--extra-variant <id>',
      "a row beyond the paper's seven, made when the study is made: a row's id with " +
        '+aug-<level>, +<schedule> and/or +<flag>=<value> (a training flag above without its ' +
        'dashes), e.g. attn-mi-ftl+aug-default, attn-mi-ftl+poly or attn-mi-ftl+grad-clip=1 ' +
        "(give it once per row; default: none, the paper's seven rows)",
      (text: string, previous: string[] | undefined) => [...(previous ?? []), parseExtra(text)],
    )
    .option(
      '--variant <ids>',
      `run only these variants: ${ABLATION_VARIANT_IDS.join(', ')}, or the study's extra rows`,
      checked(fromLibrary(parseVariantList, '--variant')),
    )
    .option(
      '--fold <ks>',
      'run only these folds, e.g. 0,2',
      checked(fromLibrary(parseFoldList, '--fold')),
    )
    .option(
      '--shard <i/n>',
      'run shard I of N (units dealt round-robin); auto/N takes I from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX',
      checked(fromLibrary((text, flag): Shard => parseShard(text, process.env, flag), '--shard')),
    );
  addFlags(command, ['microBatch', 'workers', 'backend', 'cache', 'noCache']);
  addFlags(command, ['emptyDistance', 'spacing'], {
    emptyDistance: `each unit's evaluation: ${FLAGS.emptyDistance.description}`,
  });
  command
    .option(
      '--lock-timeout <duration>',
      "a unit's lock not refreshed for this long is taken over, e.g. 30m or 6h " +
        `(default ${DEFAULT_LOCK_TIMEOUT_MS / 3_600_000}h)`,
      fromLibrary(parseDuration, '--lock-timeout'),
    )
    .option(
      '--no-wait',
      'do not wait for selected units that other processes hold; exit when the own ones are done',
    );
  addFlags(command, ['quiet']);
  command
    .addHelpText(
      'after',
      [
        '',
        'Units: DIR/units/<variant>/fold-<k>/, a run folder each; finished once it has',
        'eval/summary.json. --shard deals the units left by --variant and --fold.',
        'The study settings (data set, folds, training flags) are fixed by the first run',
        '(DIR/study.json); later runs may leave them out. Processes sharing DIR each take',
        'the units nobody holds, then wait for the selected units that others hold (taking',
        'over any that is released unfinished or goes stale), so each ends with the',
        'selection finished. Exit code 0 when every selected unit is finished, 2 otherwise.',
        'Merge the finished units: ftunet ablation-report DIR',
      ].join('\n'),
    )
    .action(async (flags: AblationFlags) => {
      if (flags.out === undefined) throw new UserError('--out is required: the study folder');
      const settings = settingsFromFlags(flags);
      const selection = selectionFromFlags(flags);
      const say = (line: string) => {
        if (!flags.quiet) process.stderr.write(`ftunet ablation: ${line}\n`);
      };
      const backend = await initBackend({
        ...(flags.backend !== undefined ? { backend: flags.backend } : {}),
        report: say,
      });
      const result = await runAblation(
        {
          out: flags.out,
          settings,
          selection,
          ...(flags.microBatch !== undefined ? { microBatch: flags.microBatch } : {}),
          ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
          ...(flags.cache !== undefined ? { cache: flags.cache } : {}),
          surface: surfaceOptionsFromFlags(flags),
          backend: backend.name,
          packageInfo: { name: 'focal-tversky-unet', version: packageVersion() },
          ...(flags.lockTimeout !== undefined ? { lockTimeoutMs: flags.lockTimeout } : {}),
          wait: flags.wait,
        },
        interrupts.stoppable(progress(flags, say), continueCommand(flags)),
      );
      const report = await ablationReport(result.study.dir);
      const count = (status: UnitOutcome['status']) =>
        result.outcomes.filter((o) => o.status === status).length;
      const busy = count('busy');
      const failed = count('failed');
      const t = report.table;
      say(
        `${result.outcomes.length} selected unit(s): ${count('done')} done now, ` +
          `${count('finished-before')} finished before, ` +
          `${count('finished-elsewhere')} finished by other processes, ${busy} busy elsewhere, ` +
          `${failed} failed; ` +
          `study: ${t.units.finished} of ${t.units.total} units done, ${t.missing.length} missing; ` +
          `report: ${report.files.md}`,
      );
      const ensemble = studyEnsemble(t, flags.out);
      if (ensemble !== undefined) say(describeStudyEnsemble(ensemble));
      if (!result.complete) {
        throw new UserError(
          `ablation: ${busy + failed} of ${result.outcomes.length} selected unit(s) not finished ` +
            `(${busy} locked by another process, ${failed} failed; see above)`,
        );
      }
    });
}

/** The command that continues this selection of units (the settings are in DIR/study.json). */
function continueCommand(f: AblationFlags): string {
  const args = ['ablation', '--out', f.out ?? ''];
  const selection = { variant: f.variant, fold: f.fold, shard: f.shard };
  for (const [name, value] of Object.entries({
    ...selection,
    backend: f.backend,
    workers: f.workers,
    // The units left are evaluated as the finished ones were.
    'empty-distance': f.emptyDistance && formatEmptyDistance(f.emptyDistance),
    spacing: f.spacing?.join(','),
  })) {
    if (value !== undefined) args.push(`--${name}`, String(value));
  }
  return ftunetCommand(args);
}

function describeUnit(unit: AblationUnit): string {
  return `${unit.variant} fold ${unit.fold}`;
}

/**
 * Progress lines on stderr: one per unit start and end, one per epoch (as `train` writes
 * them, at most 80 columns: the unit is named by the line that starts it).
 */
function progress(flags: AblationFlags, say: (line: string) => void): AblationCallbacks {
  const tty = Boolean(process.stderr.isTTY) && !flags.quiet;
  let legendSaid = false;
  const clear = () => {
    if (tty) process.stderr.write('\r\x1b[K');
  };
  return {
    onInfo: say,
    onWarning: (line) => process.stderr.write(`ftunet ablation: warning: ${line}\n`),
    onWait: (busy) => {
      const list = busy.map((b) => `${describeUnit(b.unit)} (${describeLock(b.heldBy)})`);
      say(
        `waiting for ${busy.length} unit(s) that other processes hold: ${list.join('; ')} ` +
          '(--no-wait exits instead)',
      );
    },
    onUnitStart: (unit, i, n, action) => {
      const v = ablationVariant(unit.variant);
      say(`unit ${i}/${n} ${describeUnit(unit)} (${v.label}: ${v.model}, ${v.loss}): ${action}`);
    },
    onStep: (_unit, p) => {
      if (!tty) return;
      process.stderr.write(
        `\r\x1b[Kepoch ${p.epoch} step ${p.step}/${p.steps} ` +
          `loss ${p.loss.toFixed(4)} dsc ${p.dsc.toFixed(4)}`,
      );
    },
    onEpoch: (_unit, log, epochs) => {
      clear();
      if (flags.quiet) return;
      if (!legendSaid) say(DSC_LEGEND);
      legendSaid = true;
      process.stderr.write(`${formatEpoch({ ...log, epochs })}\n`);
    },
    onUnitEnd: (o, i, n) => {
      const head = `unit ${i}/${n} ${describeUnit(o.unit)}`;
      switch (o.status) {
        case 'finished-before':
          say(`${head}: finished before, skipped`);
          return;
        case 'finished-elsewhere':
          say(`${head}: finished by another process`);
          return;
        case 'done': {
          const s = o.summary;
          say(
            `${head}: DSC ${s.dsc.mean.toFixed(3)}, precision ${s.precision.mean.toFixed(3)}, ` +
              `recall ${s.recall.mean.toFixed(3)} (means over ${s.count} test images), ` +
              `${o.seconds.toFixed(1)}s`,
          );
          return;
        }
        case 'busy':
          say(`${head}: skipped, locked by ${describeLock(o.heldBy)}`);
          return;
        case 'failed':
          process.stderr.write(`ftunet ablation: ${head}: failed: ${o.message}\n`);
          return;
        default:
          throw new Error(
            `unknown unit status '${String((o as UnitOutcome).status)}'; expected ` +
              'finished-before, finished-elsewhere, done, busy or failed',
          );
      }
    },
  };
}
