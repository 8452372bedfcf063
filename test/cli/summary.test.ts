import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCli } from './run.js';

describe('ftunet summary', () => {
  test('--json prints the reference parameter count of attn_reg', () => {
    const r = runCli(['summary', '--model', 'attn_reg', '--input-shape', '128,128,1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(out, {
      model: 'attn_reg',
      inputShape: [128, 128, 1],
      params: 5_638_503,
      // 7,040 non-trainable: the moving mean and variance of every BatchNorm channel.
      trainableParams: 5_631_463,
      outputs: [
        { name: 'pred1', shape: [16, 16, 1] },
        { name: 'pred2', shape: [32, 32, 1] },
        { name: 'pred3', shape: [64, 64, 1] },
        { name: 'final', shape: [128, 128, 1] },
      ],
    });
    assert.equal(r.stderr, '');
  });

  // The README's table; test/models pins the other networks' counts. Counted by hand from the
  // reference architecture (Keras convention): encoder 9,824 (1 channel; 10,400 with 3) +
  // 18,752 + 55,936 + 74,368 + centre 222,464; gate 1 with its gating signal and up-sampling
  // 255,457, gate 2 129,121, gate 3 64,289; last up-sampling and output 18,529.
  for (const [channels, params] of [
    [1, 848_740],
    [3, 849_316],
  ] as const) {
    test(`attn_unet with ${channels} channel(s) has ${params} parameters`, () => {
      const shape = `192,256,${channels}`;
      const r = runCli(['summary', '--model', 'attn_unet', '--input-shape', shape, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { params: number }).params, params);
    });
  }

  test('the table lists layers and totals', () => {
    const r = runCli(['summary', '--model', 'unet', '--input-shape', '64,64,3', '--width', '0.5']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^conv1_1 \(Conv2D\) +\[64,64,16\] +448 +input_scale1$/m);
    assert.match(r.stdout, /^final \(Conv2D\) +\[64,64,1\] +17 +conv9_2$/m);
    assert.match(r.stdout, /^outputs: final \[64,64,1\]$/m);
    assert.match(r.stdout, /^total params: [\d,]+$/m);
  });

  const bad: Array<[string[], string]> = [
    [
      ['summary', '--model', 'vnet'],
      "ftunet summary: option '-m, --model <name>' argument 'vnet' is invalid. Allowed choices " +
        'are unet, attn_unet, attn_reg_ds, attn_reg. (Did you mean unet?) (see --help)\n',
    ],
    [
      ['summary', '--model', 'unet', '--input-shape', '100,128,1'],
      'ftunet: --input-shape [100,128,1]: height and width must be multiples of 16 (the network halves them four times)\n',
    ],
    [
      ['summary', '--model', 'unet', '--input-shape', '-16,128,1'],
      "ftunet summary: option '-s, --input-shape <h,w,c>' argument '-16,128,1' is invalid. " +
        'Expected three positive integers HEIGHT,WIDTH,CHANNELS (e.g. 128,128,1). (see --help)\n',
    ],
    [
      ['summary', '--model', 'unet', '--input-shape', '0,128,1'],
      "ftunet summary: option '-s, --input-shape <h,w,c>' argument '0,128,1' is invalid. " +
        'Expected three positive integers HEIGHT,WIDTH,CHANNELS (e.g. 128,128,1). (see --help)\n',
    ],
    [
      ['summary', '--model', 'unet', '--frobnicate'],
      "ftunet summary: unknown option '--frobnicate' (see --help)\n",
    ],
    [
      ['summary', '--model', 'unet', '--width', 'wide'],
      "ftunet summary: option '-w, --width <multiplier>' argument 'wide' is invalid. Expected " +
        'a positive number. (see --help)\n',
    ],
    [['summarize'], "ftunet: unknown command 'summarize' (Did you mean summary?)\n"],
  ];
  for (const [args, message] of bad) {
    test(`'${args.join(' ')}' fails with one line and exit code 2`, () => {
      const r = runCli(args);
      assert.equal(r.code, 2);
      assert.equal(r.stderr, message);
      assert.equal(r.stdout, '');
    });
  }
});
