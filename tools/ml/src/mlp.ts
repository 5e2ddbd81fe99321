/**
 * A small multilayer perceptron for binary classification, trained with Adam on log-loss:
 * `p = sigmoid(W2 · relu(W1 · z + b1) + b2)` with `z = (log(1 + max(x, 0)) - mean) / std`.
 * The same arithmetic is written as an ONNX graph by `onnx-graph.ts`.
 *
 * Written by hand: no maintained JavaScript library trains a model and exports ONNX (TensorFlow.js
 * exports its own format and is hundreds of megabytes); this is about a hundred lines, seeded, and
 * its forward pass is checked against onnxruntime to 1e-6 by the step's tests.
 */

/** A trained network's parameters (row-major: `w1[i * hidden + j]` from input i to unit j). */
export interface MlpParams {
  inputs: number;
  hidden: number;
  mean: number[];
  std: number[];
  w1: number[];
  b1: number[];
  w2: number[];
  b2: number;
}

/** The input transform of every feature: log(1 + max(x, 0)) (amounts, counts and distances are heavy-tailed). */
export const squash = (x: number): number => Math.log1p(Math.max(x, 0));

/** The probability of one row (float64; onnxruntime computes the same in float32). */
export function predict(p: MlpParams, x: readonly number[]): number {
  let logit = p.b2;
  for (let j = 0; j < p.hidden; j++) {
    let h = p.b1[j]!;
    for (let i = 0; i < p.inputs; i++) h += ((squash(x[i]!) - p.mean[i]!) / p.std[i]!) * p.w1[i * p.hidden + j]!;
    if (h > 0) logit += h * p.w2[j]!;
  }
  return 1 / (1 + Math.exp(-logit));
}

/** Trains on rows `xs` with labels `ys` (full-batch passes of mini-batches, Adam, seeded initial weights). */
export function train(
  xs: number[][],
  ys: number[],
  opts: { hidden: number; epochs: number; seed: number; lr?: number; batch?: number; positiveWeight?: number },
): MlpParams {
  const d = xs[0]!.length;
  const H = opts.hidden;
  const lr = opts.lr ?? 0.01;
  const batch = opts.batch ?? 256;
  const posW = opts.positiveWeight ?? 1;
  const zs = xs.map((r) => r.map(squash));
  const mean = Array.from({ length: d }, (_, i) => zs.reduce((s, r) => s + r[i]!, 0) / zs.length);
  const std = mean.map((m, i) => Math.sqrt(zs.reduce((s, r) => s + (r[i]! - m) ** 2, 0) / zs.length) || 1);
  for (const r of zs) for (let i = 0; i < d; i++) r[i] = (r[i]! - mean[i]!) / std[i]!;
  let s = opts.seed >>> 0;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  // Parameters in one vector: w1 (d*H), b1 (H), w2 (H), b2 (1); He initialisation.
  const P = d * H + H + H + 1;
  const w = new Float64Array(P);
  for (let k = 0; k < d * H; k++) w[k] = gauss() * Math.sqrt(2 / d);
  for (let k = d * H + H; k < d * H + 2 * H; k++) w[k] = gauss() * Math.sqrt(2 / H);
  const m1 = new Float64Array(P);
  const m2 = new Float64Array(P);
  const g = new Float64Array(P);
  const h = new Float64Array(H);
  let step = 0;
  const order = zs.map((_, i) => i);
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let b = 0; b < order.length; b += batch) {
      g.fill(0);
      const rows = order.slice(b, b + batch);
      for (const r of rows) {
        const x = zs[r]!;
        let logit = w[P - 1]!;
        for (let j = 0; j < H; j++) {
          let v = w[d * H + j]!;
          for (let i = 0; i < d; i++) v += x[i]! * w[i * H + j]!;
          h[j] = v > 0 ? v : 0;
          logit += h[j]! * w[d * H + H + j]!;
        }
        const p = 1 / (1 + Math.exp(-logit));
        const y = ys[r]!;
        const err = (p - y) * (y === 1 ? posW : 1);
        g[P - 1] += err;
        for (let j = 0; j < H; j++) {
          g[d * H + H + j] += err * h[j]!;
          if (h[j]! <= 0) continue;
          const e = err * w[d * H + H + j]!;
          g[d * H + j] += e;
          for (let i = 0; i < d; i++) g[i * H + j] += e * x[i]!;
        }
      }
      step++;
      for (let k = 0; k < P; k++) {
        const gk = g[k]! / rows.length + (k < d * H ? 1e-4 * w[k]! : 0);
        m1[k] = 0.9 * m1[k]! + 0.1 * gk;
        m2[k] = 0.999 * m2[k]! + 0.001 * gk * gk;
        w[k] -= (lr * (m1[k]! / (1 - 0.9 ** step))) / (Math.sqrt(m2[k]! / (1 - 0.999 ** step)) + 1e-8);
      }
    }
  }
  return {
    inputs: d,
    hidden: H,
    mean,
    std,
    w1: Array.from(w.subarray(0, d * H)),
    b1: Array.from(w.subarray(d * H, d * H + H)),
    w2: Array.from(w.subarray(d * H + H, d * H + 2 * H)),
    b2: w[P - 1]!,
  };
}
