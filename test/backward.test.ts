// mseLossBackward and mseLossWithGrad against PyTorch's input.grad after
// F.mse_loss(x, y, reduction).backward(gradOutput) (test/fixtures/backward.json):
// every reduction, gradOutput numbers and broadcasting tensors, gradients summed back
// over dimensions where target expanded input, and mixed dtypes (where torch 1.13
// raises, the fixture computed in float64 and cast to input's dtype).
import { beforeAll, describe, expect, it } from "vitest";
import { init, mseLoss, mseLossBackward, mseLossWithGrad } from "../ts/index.js";
import backwardJson from "./fixtures/backward.json";
import {
  arrayClass,
  asTensor,
  expectClose,
  expectGradAgainstTorch,
  gradOptionsOf,
  identical,
  isFxTensor,
  num,
  rtolFor,
  tensor,
  type BackwardFixture,
  type GradEntry,
} from "./helpers/fixtures.js";
import { silenceWarningsInSuite } from "./helpers/warnings.js";

const fx = backwardJson as unknown as BackwardFixture;

beforeAll(async () => {
  await init();
});
silenceWarningsInSuite();


function describeEntry(name: string, e: GradEntry): string {
  const g = e.gradOutput === undefined ? "" : typeof e.gradOutput === "number" ? ` g=${e.gradOutput}` : ` g${JSON.stringify(e.gradOutput.shape)}`;
  return `${name} ${e.reduction}${g}`;
}

/** Checks a gradient against the fixture: bit-exact where torch computes with our formula, else the bound. */
function checkGrad(got: unknown, e: GradEntry, what: string): void {
  const t = asTensor(got, what);
  expect(t.data).toBeInstanceOf(arrayClass(e.grad.dtype));
  expectGradAgainstTorch(t, e, what);
}

describe("mseLossBackward vs torch input.grad", () => {
  it.each(fx.cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const x = tensor(c.input);
    const y = tensor(c.target);
    for (const e of c.grads) {
      const what = describeEntry(c.name, e);
      const grad = mseLossBackward(x, y, gradOptionsOf(e));
      checkGrad(grad, e, what);
      expect(asTensor(grad, what).shape).toEqual(c.input.shape);
    }
  });
});

describe("mseLossWithGrad", () => {
  it.each(fx.cases.map((c) => [c.name, c] as const))("%s: loss and grad as the separate calls", (_name, c) => {
    const x = tensor(c.input);
    const y = tensor(c.target);
    for (const e of c.grads) {
      const what = describeEntry(c.name, e);
      const opts = gradOptionsOf(e);
      const fused = mseLossWithGrad(x, y, opts);
      const { gradOutput: _g, ...lossOpts } = opts as { gradOutput?: unknown };
      const loss = mseLoss(x, y, lossOpts as Parameters<typeof mseLoss>[2]);
      const grad = mseLossBackward(x, y, opts);
      expect(identical(fused.loss, loss), `${what}: fused loss`).toBe(true);
      expect(identical(fused.grad, grad), `${what}: fused grad`).toBe(true);
      checkGrad(fused.grad, e, `${what} (fused)`);
      if (e.loss !== undefined && !isFxTensor(e.loss)) {
        const value = num(e.loss.value);
        if (Number.isFinite(value)) {
          expectClose(fused.loss as number, num(e.loss.value64), rtolFor(e.loss.dtype), `${what}: fused loss vs torch`);
        } else {
          expect(Number.isNaN(value) ? Number.isNaN(fused.loss as number) : Object.is(fused.loss, value), `${what}: fused loss vs torch`).toBe(true);
        }
      }
    }
  });
});

describe("gradient w.r.t. target", () => {
  it("is -grad where no broadcast occurs", () => {
    let checked = 0;
    for (const c of fx.cases) {
      if (JSON.stringify(c.input.shape) !== JSON.stringify(c.target.shape) || c.input.dtype !== c.target.dtype) continue;
      const x = tensor(c.input);
      const y = tensor(c.target);
      for (const e of c.grads) {
        const gx = asTensor(mseLossBackward(x, y, gradOptionsOf(e)), c.name);
        const gy = asTensor(mseLossBackward(y, x, gradOptionsOf(e)), c.name);
        const neg = gx.data.map((v) => -v);
        const same = gy.data.every((v, i) => Object.is(v, neg[i]) || (Number.isNaN(v) && Number.isNaN(neg[i])));
        expect(same, `${describeEntry(c.name, e)}: d/dtarget == -d/dinput`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});

describe("gradOutput forms", () => {
  it("a number, a rank-0 tensor and a full tensor of that value agree", () => {
    const c = fx.cases.find((k) => k.name === "shape [2, 3] float64")!;
    const x = tensor(c.input);
    const y = tensor(c.target);
    const byNumber = mseLossBackward(x, y, { reduction: "none", gradOutput: 2.5 });
    const byRank0 = mseLossBackward(x, y, { reduction: "none", gradOutput: { data: [2.5], shape: [] } });
    const byFull = mseLossBackward(x, y, { reduction: "none", gradOutput: { data: new Float64Array(6).fill(2.5), shape: [2, 3] } });
    expect(identical(byNumber, byRank0)).toBe(true);
    expect(identical(byNumber, byFull)).toBe(true);
    // default gradOutput is 1
    expect(identical(mseLossBackward(x, y, { reduction: "none" }), mseLossBackward(x, y, { reduction: "none", gradOutput: 1 }))).toBe(true);
    expect(identical(mseLossBackward(x, y), mseLossBackward(x, y, { reduction: "mean", gradOutput: 1 }))).toBe(true);
  });
});
