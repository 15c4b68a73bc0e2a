/**
 * A TensorFlow.js LayersModel as the spec and parameters that the engine and trainers take, so the
 * attacks can aim at a researcher's own model. The model is read, never changed: its layers' configs
 * and weights. tfjs-layers is not imported (the model's own objects are enough), so this works with
 * any tfjs 4 copy of it.
 *
 * Supported: a chain of InputLayer, Conv2D ('valid', stride 1, square kernel, bias), MaxPooling2D
 * (2x2, stride 2, 'valid'), Dense (with bias), Flatten, Dropout, ReLU and
 * Activation('relu' | 'softmax'), with ReLU or softmax as a Conv2D's or Dense's activation. The model
 * must end in softmax: the attack reads posteriors. Anything else is refused with the layer's name,
 * what it has and what is supported.
 */
import type { Tensor } from "../tf.ts";
import { type Layer, layerOutputShapes, type ModelSpec, type Params, paramShapes } from "./spec.ts";

/** The parts of a tfjs layer that are read. */
export interface LayerLike {
  readonly name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  getWeights(): Tensor[];
  readonly inboundNodes?: readonly { readonly inboundLayers: readonly { readonly name: string }[] }[];
}

/** The parts of a tfjs LayersModel (Sequential or functional) that are read. */
export interface LayersModelLike {
  readonly name: string;
  readonly layers: readonly LayerLike[];
  readonly inputs: readonly { readonly shape: readonly (number | null)[] }[];
  readonly outputs: readonly unknown[];
}

/** A converted model: its spec and its weights in the spec's parameter order. */
export interface ConvertedModel {
  spec: ModelSpec;
  params: Params;
}

/** Thrown for a model that cannot be converted; names the layer and what was expected. */
export class UnsupportedModelError extends Error {
  override name = "UnsupportedModelError";
}

type Config = Record<string, unknown>;

function pair(v: unknown): [number, number] | null {
  if (typeof v === "number") return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number")) {
    return [v[0] as number, v[1] as number];
  }
  return null;
}

function same(v: unknown, want: number): boolean {
  const p = pair(v);
  return p !== null && p[0] === want && p[1] === want;
}

/** Converts a tfjs LayersModel; see the module comment for what is supported. */
export function fromLayersModel(model: LayersModelLike): ConvertedModel {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new UnsupportedModelError(
      `model '${model.name}': ${model.inputs.length} inputs and ${model.outputs.length} outputs; expected one of each`,
    );
  }
  const inputShape = model.inputs[0]!.shape.slice(1);
  if (inputShape.some((d) => d === null) || (inputShape.length !== 1 && inputShape.length !== 3)) {
    throw new UnsupportedModelError(
      `model '${model.name}': input shape [${model.inputs[0]!.shape.join(", ")}]; expected [null, h, w, c] or [null, features] with every size known`,
    );
  }
  const state: Building = {
    layers: [],
    params: [],
    shape: inputShape as number[],
    softmax: null,
    previous: null,
  };
  for (const layer of model.layers) {
    checkChain(layer, state.previous);
    state.previous = layer.name;
    if (state.softmax !== null) {
      throw new UnsupportedModelError(
        `layer '${layer.name}' (${layer.getClassName()}) comes after the softmax of '${state.softmax}'; the softmax must be last`,
      );
    }
    addLayer(layer, state);
  }
  if (state.softmax === null) {
    throw new UnsupportedModelError(
      `model '${model.name}' does not end in softmax; the attacks read posteriors (give the last Dense activation 'softmax')`,
    );
  }
  if (state.shape.length !== 1) {
    throw new UnsupportedModelError(
      `model '${model.name}': output shape [${state.shape.join(", ")}]; expected [classes]`,
    );
  }
  const spec: ModelSpec = {
    name: model.name,
    inputShape: inputShape as number[],
    numClasses: state.shape[0]!,
    layers: state.layers,
  };
  return { spec, params: state.params };
}

interface Building {
  layers: Layer[];
  params: Params;
  /** Output shape so far, without the batch. */
  shape: number[];
  /** The layer whose softmax ended the model, once one has. */
  softmax: string | null;
  previous: string | null;
}

/** A functional model must be a chain: each layer's one input is the layer before it. */
function checkChain(layer: LayerLike, previous: string | null): void {
  const nodes = layer.inboundNodes;
  if (nodes === undefined || previous === null) return;
  const inbound = nodes.flatMap((n) => n.inboundLayers.map((l) => l.name));
  if (inbound.length > 1 || (inbound.length === 1 && inbound[0] !== previous)) {
    throw new UnsupportedModelError(
      `layer '${layer.name}' takes its input from [${inbound.join(", ")}]; only a chain of layers, each fed by the one before (here '${previous}'), is supported`,
    );
  }
}

function refuse(layer: LayerLike, what: string): never {
  throw new UnsupportedModelError(`layer '${layer.name}' (${layer.getClassName()}): ${what}`);
}

function activation(layer: LayerLike, name: unknown, state: Building): void {
  if (name === undefined || name === null || name === "linear") return;
  if (name === "relu") state.layers.push({ kind: "relu" });
  else if (name === "softmax") state.softmax = layer.name;
  else refuse(layer, `activation '${String(name)}'; supported: linear, relu, softmax`);
}

function push(layer: LayerLike, l: Layer, state: Building): void {
  const shapes = paramShapes(l);
  if (shapes !== null) {
    const weights = layer.getWeights();
    if (weights.length !== 2) refuse(layer, `${weights.length} weight tensors; expected a kernel and a bias`);
    weights.forEach((w, i) => {
      if (w.shape.join() !== shapes[i]!.join()) {
        refuse(layer, `weight ${i} has shape [${w.shape.join(", ")}]; expected [${shapes[i]!.join(", ")}]`);
      }
      state.params.push(Float32Array.from(w.dataSync() as Float32Array));
    });
  }
  state.layers.push(l);
  const shapes2 = layerOutputShapes({ name: "", inputShape: state.shape, numClasses: 0, layers: [l] });
  state.shape = shapes2[0]!;
}

function addLayer(layer: LayerLike, state: Building): void {
  const c: Config = layer.getConfig();
  const rank = state.shape.length;
  switch (layer.getClassName()) {
    case "InputLayer":
      return;
    case "Conv2D": {
      if (rank !== 3) refuse(layer, `input of rank ${rank}; expected [h, w, c]`);
      const k = pair(c.kernelSize);
      if (k === null || k[0] !== k[1])
        refuse(layer, `kernel size ${JSON.stringify(c.kernelSize)}; expected a square kernel`);
      if (c.padding !== "valid") refuse(layer, `padding '${String(c.padding)}'; supported: 'valid'`);
      if (!same(c.strides, 1) || !same(c.dilationRate ?? 1, 1))
        refuse(layer, "strides or dilation other than 1");
      if (c.dataFormat !== undefined && c.dataFormat !== "channelsLast")
        refuse(layer, `data format '${String(c.dataFormat)}'; supported: 'channelsLast'`);
      if (c.useBias === false) refuse(layer, "no bias; supported: useBias true");
      push(layer, { kind: "conv", in: state.shape[2]!, out: c.filters as number, k: k[0] }, state);
      activation(layer, c.activation, state);
      return;
    }
    case "MaxPooling2D": {
      if (rank !== 3) refuse(layer, `input of rank ${rank}; expected [h, w, c]`);
      if (!same(c.poolSize, 2) || !(c.strides === null || c.strides === undefined || same(c.strides, 2))) {
        refuse(
          layer,
          `pool ${JSON.stringify(c.poolSize)} stride ${JSON.stringify(c.strides)}; supported: 2x2, stride 2`,
        );
      }
      if (c.padding !== "valid") refuse(layer, `padding '${String(c.padding)}'; supported: 'valid'`);
      push(layer, { kind: "maxpool", size: 2 }, state);
      return;
    }
    case "Dense":
      if (rank !== 1) refuse(layer, `input of shape [${state.shape.join(", ")}]; put a Flatten before it`);
      if (c.useBias === false) refuse(layer, "no bias; supported: useBias true");
      push(layer, { kind: "dense", in: state.shape[0]!, out: c.units as number }, state);
      activation(layer, c.activation, state);
      return;
    case "Flatten":
      push(layer, { kind: "flatten" }, state);
      return;
    case "Dropout":
      if (c.noiseShape != null) refuse(layer, "a noise shape; supported: plain Dropout");
      push(layer, { kind: "dropout", p: c.rate as number }, state);
      return;
    case "ReLU":
      if (c.maxValue != null || (c.threshold ?? 0) !== 0 || (c.negativeSlope ?? 0) !== 0) {
        refuse(layer, "a capped, thresholded or leaky ReLU; supported: the plain ReLU");
      }
      state.layers.push({ kind: "relu" });
      return;
    case "Activation":
      activation(layer, c.activation, state);
      return;
    default:
      refuse(
        layer,
        "not supported; supported: InputLayer, Conv2D, MaxPooling2D, Dense, Flatten, Dropout, ReLU, Activation",
      );
  }
}
