/**
 * `ftunet app`: a static web app that segments images in the browser with a model built in,
 * and with `--serve`, a server for it on this machine. A thin shell over `writeApp`
 * (src/app/write.ts) and `serveStatic` (src/app/serve.ts).
 */
import type { Command } from 'commander';
import { APP_MODEL_DIR } from '../../app/assets.js';
import { serveStatic } from '../../app/serve.js';
import { writeApp } from '../../app/write.js';
import { initBackend } from '../../backend/select.js';
import { resolveModelSource } from '../../eval/model_source.js';
import type { Quantization } from '../../export/metadata.js';
import { flagOption } from '../flags.js';
import { integer } from '../parse.js';
import { packageVersion } from '../version.js';

interface AppFlags {
  model: string;
  out?: string;
  quantize?: Quantization;
  serve?: boolean;
  port: number;
  json?: boolean;
}

/** The port `--serve` listens on unless told. */
export const DEFAULT_APP_PORT = 8765;

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export function register(program: Command): void {
  program
    .command('app')
    .description(
      'write a web app that segments images in the browser (offline, nothing uploaded) with ' +
        'the model built in; host the folder on any static server, or use --serve',
    )
    .requiredOption('--model <dir>', 'a saved model folder, or a run folder (its best model)')
    .option(
      '--out <dir>',
      "the app's folder: new, empty, or an earlier app (replaced; files you added are kept) " +
        '(default: app/ in the run or model folder)',
    )
    .addOption(flagOption('quantize'))
    .option(
      '--serve',
      'then serve it on 127.0.0.1, cross-origin isolated so wasm runs one thread per core ' +
        '(Ctrl-C stops)',
    )
    .option(
      '--port <n>',
      'the port of --serve (0: any free port)',
      integer(0, 65535),
      DEFAULT_APP_PORT,
    )
    .option('--json', 'print one JSON object (what was written, and the URL with --serve)')
    .action(async (flags: AppFlags) => {
      await resolveModelSource(flags.model); // a missing folder fails before a backend starts
      // Reading weights needs a backend; the cpu backend needs no start-up and is quiet.
      await initBackend({ backend: 'cpu' });
      const written = await writeApp({
        model: flags.model,
        ...(flags.out !== undefined ? { out: flags.out } : {}),
        ...(flags.quantize !== undefined ? { quantize: flags.quantize } : {}),
        producerVersion: packageVersion(),
      });
      const served = flags.serve
        ? await serveStatic({ mounts: { '/': written.out }, port: flags.port })
        : undefined;
      const url = served ? `${served.origin}/` : undefined;
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ ...written, ...(url ? { url } : {}) })}\n`);
      } else {
        process.stdout.write(
          `wrote the web app of ${written.export.model} to ${written.out} ` +
            `(${mib(written.bytes)}, of which the model in ${APP_MODEL_DIR}/: ${mib(written.modelBytes)}); ` +
            'host the folder on any static file server\n',
        );
        if (url) process.stdout.write(`serving it at ${url} (Ctrl-C stops)\n`);
      }
    });
}
