// Handwritten digits for the training examples, from the `mnist` package (it ships the images: no download).

import { createRequire } from 'node:module';

/**
 * `count` digits in a fixed order (the package's own set() shuffles with Math.random, which would give every
 * rank a different data set): sample k is the (first + k / 10)-th image of digit k % 10. Inputs are 784 pixels
 * in [0, 1], targets one-hot over 10 classes.
 */
export function digits(count: number, first: number): { x: Float32Array; y: Float32Array } {
  const mnist = createRequire(import.meta.url)('mnist') as { [d: number]: { get(i: number): number[] } };
  const x = new Float32Array(count * 784), y = new Float32Array(count * 10);
  for (let k = 0; k < count; k++) {
    x.set(mnist[k % 10].get(first + Math.floor(k / 10)), k * 784);
    y[k * 10 + (k % 10)] = 1;
  }
  return { x, y };
}
