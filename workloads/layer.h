#pragma once
// The workload IR: a list of operators in execution order, each producing
// one tensor, with edges to the operators whose outputs it reads. GEMM-class
// operators (convolution, fully connected, (batched) matmul) run on the MAC
// array; the others on the vector unit or the DMA. Models no timing.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "arch/dtype.h"
#include "arch/systolic.h"
#include "arch/vector.h"

namespace tessel::workloads {

enum class LayerKind {
  kConv2d,     // MAC array
  kGemm,       // MAC array: fully connected, matmul, batched matmul
  kVector,     // vector unit: activations, elementwise, norms, softmax, pooling, resize, scan
  kDataMove,   // DMA only: transpose, concat, copy (reshape is free)
  kEmbedding,  // DMA gather of table rows
};

// Where a GEMM's second ("weight") operand comes from.
enum class OperandSource {
  kParameters,  // the layer's own weights
  kProducer,    // another layer's output (activation x activation, e.g. Q x K^T)
  kExternal,    // activations already in DRAM, not produced here (e.g. a KV cache)
};

enum class MoveKind { kCopy, kTranspose, kConcat, kReshape };

struct Layer {
  std::string name;
  LayerKind kind = LayerKind::kGemm;
  // Producers of this layer's inputs (indices of earlier layers), in order.
  // Empty: the workload's input, already in DRAM.
  std::vector<std::size_t> inputs;

  // kGemm: out[m][n] = sum_k in[m][k] * w[k][n], `batch` independent GEMMs.
  std::uint64_t m = 0, n = 0, k = 0;
  OperandSource second = OperandSource::kParameters;
  std::size_t second_producer = 0;  // with kProducer
  bool bias = false;                // counted in parameters

  // kConv2d (NHWC), output size resolved by the importer.
  std::uint64_t batch = 1;
  std::uint64_t in_h = 0, in_w = 0, in_c = 0, out_c = 0;
  std::uint64_t kernel_h = 1, kernel_w = 1;
  std::uint64_t stride_h = 1, stride_w = 1;
  std::uint64_t pad_h = 0, pad_w = 0;
  std::uint64_t dilation_h = 1, dilation_w = 1;
  std::uint64_t groups = 1;
  std::uint64_t out_h = 0, out_w = 0;

  // kVector: the work, and the elements read (all inputs) and written.
  arch::VectorWork work;
  std::uint64_t in_elements = 0;
  std::uint64_t out_elements = 0;

  // kDataMove: `elements` read and written (reshape: none).
  MoveKind move = MoveKind::kCopy;
  std::uint64_t elements = 0;

  // kEmbedding: `tokens` rows of `dim` gathered from a `vocab` x `dim` table.
  std::uint64_t tokens = 0, dim = 0, vocab = 0;

  // An activation or normalisation applied to a GEMM's output tiles on
  // chip, before they are stored (fusion).
  std::optional<arch::VectorWork> fused;
  // A residual add fused into a GEMM's epilogue (workloads/lowering/
  // fusion.h): after `fused`, each output tile adds the matching tile of
  // `producer`'s output (same shape), then runs `after` in order
  // (activations, or a norm over whole rows), all before its store.
  struct Residual {
    std::size_t producer = 0;
    std::vector<arch::VectorWork> after;
    // The row of `producer`'s tensor where this layer's output rows start
    // (a stripe of a striped chain, stripes.h; 0 otherwise).
    std::uint64_t row0 = 0;
  };
  std::optional<Residual> residual;

  // Element types; unset means the hardware's default precision.
  std::optional<DType> dtype;         // activations (inputs and output)
  std::optional<DType> weight_dtype;  // the second GEMM operand

  // Parameters beyond the weights, bias and embedding table the kind
  // implies: normalisation gains, a Mamba block's A and D, positional
  // embeddings.
  std::uint64_t extra_params = 0;

  // The same parameters as an earlier layer (the same network run on the
  // next frame of a stream): its weights are that layer's, counted once.
  std::optional<std::size_t> weights_of;

  // Row stripes (stripe fusion, workloads/lowering/stripes.h): a
  // convolution run on a band of rows. It reads its input from row
  // `input_row0` of its producer's tensor (in_h rows from there), and, with
  // `output_slice`, writes rows [row0, row0 + out_h) of a tensor of
  // `rows` rows that several stripe layers write: the first of them,
  // `tensor`, owns it; readers name the last, which completes it.
  std::uint64_t input_row0 = 0;
  struct RowSlice {
    std::size_t tensor = 0;
    std::uint64_t row0 = 0, rows = 0;
  };
  std::optional<RowSlice> output_slice;

  // Fused attention (workloads/lowering/attention.h): this kGemm is the
  // scores, Q (inputs[0]) x K (the second operand, k = head_dim rows of
  // n = KV-length columns), and its output goes through a row softmax and
  // times `value`'s operand (n rows of `cols`) on chip; the layer's output
  // is the context, batch x m x cols. Lowered tiled over the KV length with
  // an online softmax, so no score leaves the chip.
  struct Attention {
    OperandSource value = OperandSource::kProducer;  // or kExternal (a KV cache)
    std::size_t value_producer = 0;                  // with kProducer
    std::uint64_t cols = 0;
  };
  std::optional<Attention> attention;
  // Imported from SCALE-Sim: when a tile must split the temporal extent,
  // the fold keeps streaming (compute cycles as SCALE-Sim counts them).
  bool scalesim_semantics = false;

  bool on_array() const { return kind == LayerKind::kConv2d || kind == LayerKind::kGemm; }
  // The GEMM the array runs: M = batch*out_h*out_w, K = in_c/groups*kh*kw,
  // N = out_c/groups, repeated `groups` times.
  arch::GemmShape gemm() const;
  // Of fused attention, the second GEMM: probabilities x values.
  arch::GemmShape context_gemm() const { return {m, attention->cols, n, batch}; }
  std::uint64_t macs() const {
    return !on_array() ? 0 : gemm().macs() + (attention ? context_gemm().macs() : 0);
  }
  std::uint64_t params() const;
  std::uint64_t output_elements() const;
  // Elements of the tensor it writes: with output_slice, the whole tensor.
  std::uint64_t tensor_elements() const {
    return output_slice ? output_elements() / out_h * output_slice->rows : output_elements();
  }
  // Elements per row of a convolution's input and output tensors (NHWC).
  std::uint64_t input_row_elements() const { return in_w * in_c; }
  std::uint64_t output_row_elements() const { return out_w * out_c; }
  // Elements of the second GEMM operand (weights) read in full.
  std::uint64_t weight_elements() const {
    if (!on_array()) return 0;
    return gemm().k * gemm().n * gemm().batch + (attention ? n * attention->cols * batch : 0);
  }
  // The producers whose outputs it reads: inputs, second operand, values
  // and residual, each once, in ascending order.
  std::vector<std::size_t> producers() const;
  // Distinct input elements a tile of `tm` GEMM rows and `tk` of the
  // reduction needs (convolution windows overlap, so this is below tm*tk;
  // K is ordered channel-major, kernel positions innermost). Per group.
  std::uint64_t input_tile_elements(std::uint64_t tm, std::uint64_t tk) const;
  // A GEMM's epilogue on one output tile of `rows` x `row_length`, in
  // order: `fused`, the residual add (two inputs), its `after` operators.
  std::vector<arch::VectorWork> epilogue(std::uint64_t rows, std::uint64_t row_length) const;
  // The index in epilogue() of the residual add (with `residual`).
  std::size_t residual_add_index() const { return fused ? 1 : 0; }
  // Whether an epilogue operator needs whole output rows (a softmax or norm).
  bool row_wise_epilogue() const;
};

// Output size as PyTorch computes it (floor, with padding and dilation).
std::uint64_t conv_output_size(std::uint64_t in, std::uint64_t kernel, std::uint64_t stride,
                               std::uint64_t pad, std::uint64_t dilation);

struct Workload {
  std::string name;
  std::vector<Layer> layers;
  // Operators an importer left out on request ("node (OpType)").
  std::vector<std::string> skipped;
  std::uint64_t macs() const;
  std::uint64_t params() const;
};

// Checks edges (earlier layers only) and sizes; `fail(layer, message)`.
void validate_edges(const Workload& workload, const std::string& source);

// `frames` inferences of `workload` one after another (a camera stream):
// frame f's layers are named "f<f>.<name>", read their own frame's tensors,
// and share frame 0's parameters (weights_of). One frame is the workload.
Workload repeat_frames(const Workload& workload, std::uint64_t frames);

}  // namespace tessel::workloads
