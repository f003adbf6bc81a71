/**
 * The tensors of a synthetic model: names in both formats (models.md §1.9, §2.3), shapes, how
 * their values are drawn, and the q/k row permutation llama GGUFs need (§2.4).
 */
import type { Init } from './random.ts';
import type { SyntheticShape } from './shapes.ts';

export interface PlannedTensor {
  /** HF name; also the key of the tensor's random stream, so every format gets the same values */
  hfName: string;
  ggufName: string;
  /** HF shape: [rows, cols] for matrices ([out, in] for linears), [n] for vectors */
  shape: [number, number] | [number];
  init: Init;
  /** LM head (untied) — quantised files keep it at higher precision */
  isOutput?: boolean;
  /**
   * Set for llama-family q/k: the GGUF rows are the HF rows reordered within each head of this
   * size (HF half-split pairs → adjacent pairs), which llama.cpp's `llama` arch expects.
   */
  ggufPermuteHeadDim?: number;
}

/**
 * Matrices: N(0, 1/cols) (variance-preserving in the input dimension), so every projection of a
 * normalised vector has unit-scale entries and attention scores, residual and logits are O(1) at
 * any size: std 0.018–0.031 at ERNIE-0.3B's sizes (transformers initialises with 0.02), 0.09–0.125
 * for the tiny shapes, where 0.02 would leave attention nearly uniform and rope untested.
 */
const linear = (cols: number): Init => ({ kind: 'normal', std: 1 / Math.sqrt(cols) });
/** Norm weights near 1 (not exactly 1, so a norm applied to the wrong tensor shows). */
const NORM: Init = { kind: 'uniform', min: 0.9, max: 1.1 };

export const rowsOf = (t: PlannedTensor): number => (t.shape.length === 2 ? t.shape[0] : 1);
export const colsOf = (t: PlannedTensor): number => (t.shape.length === 2 ? t.shape[1] : t.shape[0]);

/** All tensors in file order: embedding, layers, final norm, untied head. */
export function planTensors(s: SyntheticShape): PlannedTensor[] {
  const H = s.hiddenSize;
  const q = s.numHeads * s.headDim;
  const kv = s.numKvHeads * s.headDim;
  const I = s.intermediateSize;
  // ERNIE's HF weights already pair adjacent elements; only HF Llama is half-split.
  const permute = s.family === 'llama' ? s.headDim : undefined;
  const out: PlannedTensor[] = [
    { hfName: 'model.embed_tokens.weight', ggufName: 'token_embd.weight', shape: [s.vocabSize, H], init: linear(H) },
  ];
  for (let l = 0; l < s.numLayers; l++) {
    const hf = `model.layers.${l}.`;
    const gg = `blk.${l}.`;
    out.push(
      { hfName: `${hf}input_layernorm.weight`, ggufName: `${gg}attn_norm.weight`, shape: [H], init: NORM },
      {
        hfName: `${hf}self_attn.q_proj.weight`,
        ggufName: `${gg}attn_q.weight`,
        shape: [q, H],
        init: linear(H),
        ggufPermuteHeadDim: permute,
      },
      {
        hfName: `${hf}self_attn.k_proj.weight`,
        ggufName: `${gg}attn_k.weight`,
        shape: [kv, H],
        init: linear(H),
        ggufPermuteHeadDim: permute,
      },
      { hfName: `${hf}self_attn.v_proj.weight`, ggufName: `${gg}attn_v.weight`, shape: [kv, H], init: linear(H) },
      { hfName: `${hf}self_attn.o_proj.weight`, ggufName: `${gg}attn_output.weight`, shape: [H, q], init: linear(q) },
      { hfName: `${hf}post_attention_layernorm.weight`, ggufName: `${gg}ffn_norm.weight`, shape: [H], init: NORM },
      { hfName: `${hf}mlp.gate_proj.weight`, ggufName: `${gg}ffn_gate.weight`, shape: [I, H], init: linear(H) },
      { hfName: `${hf}mlp.up_proj.weight`, ggufName: `${gg}ffn_up.weight`, shape: [I, H], init: linear(H) },
      { hfName: `${hf}mlp.down_proj.weight`, ggufName: `${gg}ffn_down.weight`, shape: [H, I], init: linear(I) },
    );
  }
  out.push({ hfName: 'model.norm.weight', ggufName: 'output_norm.weight', shape: [H], init: NORM });
  if (!s.tieWordEmbeddings) {
    out.push({
      hfName: 'lm_head.weight',
      ggufName: 'output.weight',
      shape: [s.vocabSize, H],
      init: linear(H),
      isOutput: true,
    });
  }
  return out;
}

/**
 * Reorder rows [r0, r0 + n) of a q/k matrix (whole heads) from HF half-split order into GGUF
 * order: within each head, GGUF row 2i + s = HF row s·hd/2 + i (models.md §2.4).
 */
export function permuteHeadRows(src: Float32Array, dst: Float32Array, cols: number, headDim: number): void {
  const rows = src.length / cols;
  if (rows % headDim !== 0) throw new RangeError(`permuteHeadRows: ${rows} rows are not whole heads of ${headDim}`);
  const half = headDim / 2;
  for (let h = 0; h < rows; h += headDim) {
    for (let i = 0; i < half; i++) {
      for (let s = 0; s < 2; s++) {
        const from = (h + s * half + i) * cols;
        dst.set(src.subarray(from, from + cols), (h + 2 * i + s) * cols);
      }
    }
  }
}
