#!/usr/bin/env node
/** Entry point of the `ftunet` command; see `program.ts` and, for Ctrl-C, `interrupt.ts`. */
import { ftunetProgram } from '../util/invocation.js';
import { setFtunetProgram } from '../util/shell.js';
import { interrupts } from './interrupt.js';
import { main } from './program.js';

interrupts.install();
// A reader that stops early (`ftunet ablation --help | head`) is no error: end quietly, as
// other command-line tools do, rather than with Node's stack trace for EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}
// Printed commands start as the user can type them: `ftunet` or `npx ftunet`.
setFtunetProgram(ftunetProgram());

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = 1;
  },
);
