/**
 * Fine-tuning in Node.js (wasm backend), for calibrating the page's defaults: the quick start's
 * model on 20 synthetic BUS images of the `dim` look, scored on 20 others before and after.
 * Usage: node dist/bench/fine_tune_node.js MODEL_DIR [--epochs N] [--lr X] [--augment L]
 */
import { initBackend } from '../src/backend/select.js';
import { examplesDataset, fineTune } from '../src/browser/fine_tune.js';
import { evaluateModel } from '../src/eval/evaluate.js';
import { generatePair } from '../src/data/synthetic/generate.js';
import { predictionRecipe } from '../src/data/recipe.js';
import { loadModel } from '../src/io/model_files.js';
import { modelInputShape } from '../src/eval/evaluate.js';

const [dir, ...rest] = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = rest.indexOf(name);
  return i < 0 ? undefined : rest[i + 1];
};
await initBackend({ backend: 'wasm' });
const model = await loadModel(dir);
const recipe = predictionRecipe({ inputShape: modelInputShape(model, dir) });
const examples = Array.from({ length: 40 }, (_, i) => {
  const pair = generatePair('bus', i, { seed: 77, look: 'dim' });
  return { name: `dim_${i}.png`, image: pair.image, mask: pair.mask };
});
const t0 = performance.now();
const result = await fineTune(
  model,
  recipe,
  examples.slice(0, 20),
  {
    settings: {
      ...(arg('--epochs') ? { epochs: Number(arg('--epochs')) } : {}),
      ...(arg('--lr') ? { learningRate: Number(arg('--lr')) } : {}),
      ...(arg('--augment') ? { augment: arg('--augment') as 'none' } : {}),
    },
  },
  {
    onEpoch: (l) =>
      console.log(
        `epoch ${l.epoch} loss ${l.train.loss.toFixed(4)} val dsc ${l.score.toFixed(4)} ${l.seconds.toFixed(1)}s`,
      ),
  },
);
console.log(
  `fine-tuned in ${((performance.now() - t0) / 1000).toFixed(1)} s; val before ${result.before.dsc.toFixed(4)} after ${result.after.dsc.toFixed(4)}; best epoch ${result.bestEpoch}`,
);
const others = examplesDataset(recipe, examples.slice(20));
const rows = await evaluateModel(model, others, [...Array(20).keys()], { quality: false });
console.log(
  `20 other images: DSC ${(rows.reduce((a, r) => a + r.metrics.dsc, 0) / 20).toFixed(4)}`,
);
