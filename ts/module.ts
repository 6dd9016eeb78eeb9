// MSELoss: PyTorch's `torch.nn.MSELoss`, options validated once at construction.
import { coerce, type ArrayArgument } from "./coerce.js";
import { backwardWithOptions } from "./grad.js";
import { activeHeap } from "./heap.js";
import { lossWithOptions, type Tensor } from "./loss.js";
import { MODULE_OPTIONS, parseOptions, reductionName, type MseLossOptions, type ParsedOptions, type Reduction } from "./options.js";

/**
 * The mean squared error criterion, as PyTorch's `torch.nn.MSELoss`. The options (the
 * same as `mseLoss`'s) are validated here, so a bad reduction fails at construction,
 * which needs no loaded module; `forward` and `backward` need `await init()`.
 *
 * ```ts
 * const criterion = new MSELoss({ reduction: "sum" });
 * const loss = criterion.forward(input, target);
 * const grad = criterion.backward(input, target);
 * ```
 */
export class MSELoss {
  /** The effective reduction (after PyTorch's legacy `sizeAverage`/`reduce` mapping). */
  readonly reduction: Reduction;
  readonly #options: ParsedOptions;

  constructor(options?: MseLossOptions) {
    this.#options = parseOptions("MSELoss", options, MODULE_OPTIONS);
    // The weight's type and shape are checked now; its values are read per call.
    if (this.#options.weight !== undefined) coerce(activeHeap(), "MSELoss", "weight", this.#options.weight);
    this.reduction = reductionName(this.#options.reduction);
  }

  /**
   * The loss: `mseLoss(input, target, options)`.
   *
   * Shapes: input `(*)`; target `(*)` broadcastable. Output: a number for
   * `"mean"`/`"sum"`, a Tensor of the broadcast (or remaining) shape otherwise.
   */
  forward(input: ArrayArgument, target: ArrayArgument): number | Tensor {
    return lossWithOptions("MSELoss.forward", input, target, this.#options);
  }

  /**
   * The gradient of the loss w.r.t. `input`: `mseLossBackward(input, target,
   * { ...options, gradOutput })`.
   *
   * Shapes: input `(*)`; target `(*)` broadcastable; gradOutput (default 1) a number,
   * or shaped like the loss. Output: a Tensor of input's shape and dtype.
   */
  backward(input: ArrayArgument, target: ArrayArgument, gradOutput?: number | ArrayArgument): Tensor {
    return backwardWithOptions("MSELoss.backward", input, target, this.#options, gradOutput);
  }
}
