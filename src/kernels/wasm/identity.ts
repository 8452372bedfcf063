/**
 * `Identity` for the wasm backend that shares its input's memory instead of copying it, as
 * the wasm backend's own `Reshape` and the cpu backend's `Identity` do (the backend counts
 * references per data id). Tensors are immutable, so a shared buffer is never written.
 *
 * It matters for training: tfjs-core saves every tensor a gradient needs as a clone
 * (`engine.saveTensorsForBackwardMode`), and `clone` runs `Identity`, so with the stock kernel
 * every layer output existed twice at the end of the forward pass.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  Identity,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

function identity(args: { inputs: { x: TensorInfo }; backend: BackendWasm }): TensorInfo {
  const { x } = args.inputs;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const identityConfig: KernelConfig = {
  kernelName: Identity,
  backendName: 'wasm',
  kernelFunc: identity as unknown as KernelFunc,
};
