// Transformer families:
//   vit  - Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021
//          (default ViT-B/16: patch 16, dim 768, depth 12, heads 12, MLP 4x)
//   bert - Devlin et al., "BERT", NAACL 2019 (default BERT-base: 12 layers,
//          hidden 768, 12 heads, FFN 3072, vocabulary 30522, 512 positions)
//   gpt  - Radford et al., "Language Models are Unsupervised Multitask
//          Learners" (GPT-2), 2019 (default GPT-2 small: 12 layers, d 768,
//          12 heads, vocabulary 50257, 1024 positions, tied LM head); grouped
//          query attention with kv_heads < heads; prefill or one decode step
//          against a KV cache in DRAM.

#include <fmt/format.h>

#include "arch/error.h"
#include "workloads/zoo/blocks.h"
#include "workloads/zoo/registry.h"

namespace tessel::workloads::zoo {

using arch::VectorOp;

Seq transformer_layer(Builder& b, const Seq& x, std::uint64_t heads, std::uint64_t mlp_dim,
                      VectorOp activation) {
  Seq h = b.norm("ln1", x, VectorOp::kLayerNorm);
  h = b.attention("attn", h, h, heads, heads, h.tokens);
  Seq y = b.add("add1", x, h);
  h = b.norm("ln2", y, VectorOp::kLayerNorm);
  h = b.linear("fc1", h, mlp_dim, true, activation);
  h = b.linear("fc2", h, x.dim);
  return b.add("add2", y, h);
}

namespace {

Workload build_vit(const ModelParams& p, Builder& b) {
  const auto patch = static_cast<std::uint64_t>(p.integer("patch"));
  const auto dim = static_cast<std::uint64_t>(p.integer("dim"));
  const auto res = static_cast<std::uint64_t>(p.integer("resolution"));
  const auto heads = static_cast<std::uint64_t>(p.integer("heads"));
  if (res % patch != 0) {
    throw InputError(
        fmt::format("workload vit: resolution {} is not a multiple of patch {}", res, patch));
  }
  if (dim % heads != 0) {
    throw InputError(fmt::format("workload vit: heads {} must divide dim {}", heads, dim));
  }
  const Map patches = b.conv("patch_embed", b.image(res, res, 3), dim, patch, patch, 1, {}, 0);
  const std::uint64_t tokens = patches.h * patches.w + 1;  // + class token
  b.add_params(dim + tokens * dim);                        // class token, positions
  Seq x{patches.id, tokens, dim};
  const auto mlp = static_cast<std::uint64_t>(std::llround(p.real("mlp_ratio") * dim));
  for (std::int64_t l = 0; l < p.integer("depth"); ++l) {
    b.push(fmt::format("block{}", l));
    x = transformer_layer(b, x, heads, mlp, VectorOp::kGelu);
    b.pop();
  }
  x = b.norm("norm", x, VectorOp::kLayerNorm);
  b.linear("head", {x.id, 1, dim}, static_cast<std::uint64_t>(p.integer("classes")));
  return b.finish();
}

TESSEL_REGISTER_MODEL(ModelFamily{
    "vit",
    "Vision Transformer (Dosovitskiy et al. 2021); default ViT-B/16 at 224x224",
    {{"patch", ParamSpec::Type::kInt, "16", "patch size", 1, 256, {}},
     {"dim", ParamSpec::Type::kInt, "768", "embedding width", 8, 16384, {}},
     {"depth", ParamSpec::Type::kInt, "12", "encoder layers", 1, 256, {}},
     {"heads", ParamSpec::Type::kInt, "12", "attention heads (must divide dim)", 1, 256, {}},
     {"mlp_ratio", ParamSpec::Type::kReal, "4", "MLP width / dim", 0.25, 16, {}},
     {"resolution", ParamSpec::Type::kInt, "224", "input size (a multiple of patch)", 16, 4096, {}},
     classifier_classes_param()},
    build_vit});

Workload build_bert(const ModelParams& p, Builder& b) {
  const auto hidden = static_cast<std::uint64_t>(p.integer("hidden"));
  const auto heads = static_cast<std::uint64_t>(p.integer("heads"));
  const auto seq = static_cast<std::uint64_t>(p.integer("sequence"));
  if (hidden % heads != 0) {
    throw InputError(fmt::format("workload bert: heads {} must divide hidden {}", heads, hidden));
  }
  Seq x =
      b.embedding("embeddings.word", seq, hidden, static_cast<std::uint64_t>(p.integer("vocab")));
  b.add_params(512 * hidden + 2 * hidden);  // positions, token types
  x = b.norm("embeddings.ln", x, VectorOp::kLayerNorm);
  for (std::int64_t l = 0; l < p.integer("layers"); ++l) {
    b.push(fmt::format("layer{}", l));
    // Post-norm, as BERT.
    Seq h = b.attention("attn", x, x, heads, heads, seq);
    x = b.norm("ln1", b.add("add1", x, h), VectorOp::kLayerNorm);
    h = b.linear("ffn_up", x, 4 * hidden, true, VectorOp::kGelu);
    h = b.linear("ffn_down", h, hidden);
    x = b.norm("ln2", b.add("add2", x, h), VectorOp::kLayerNorm);
    b.pop();
  }
  b.linear("pooler", {x.id, 1, hidden}, hidden, true, VectorOp::kTanh);
  return b.finish();
}

TESSEL_REGISTER_MODEL(ModelFamily{
    "bert",
    "BERT encoder (Devlin et al. 2019); default BERT-base at sequence 128",
    {{"layers", ParamSpec::Type::kInt, "12", "encoder layers", 1, 256, {}},
     {"hidden", ParamSpec::Type::kInt, "768", "hidden width", 8, 16384, {}},
     {"heads", ParamSpec::Type::kInt, "12", "attention heads (must divide hidden)", 1, 256, {}},
     {"sequence", ParamSpec::Type::kInt, "128", "tokens (up to 512 positions)", 1, 512, {}},
     {"vocab", ParamSpec::Type::kInt, "30522", "vocabulary size", 1, 1000000, {}}},
    build_bert});

Workload build_gpt(const ModelParams& p, Builder& b) {
  const auto d = static_cast<std::uint64_t>(p.integer("d_model"));
  const auto heads = static_cast<std::uint64_t>(p.integer("heads"));
  const auto kv_heads = static_cast<std::uint64_t>(p.integer("kv_heads"));
  const auto seq = static_cast<std::uint64_t>(p.integer("sequence"));
  const bool decode = p.text("mode") == "decode";
  if (d % heads != 0 || heads % kv_heads != 0) {
    throw InputError(
        fmt::format("workload gpt: heads must divide d_model and kv_heads must divide "
                    "heads (d_model {}, heads {}, kv_heads {})",
                    d, heads, kv_heads));
  }
  const std::uint64_t kv_len = decode ? static_cast<std::uint64_t>(p.integer("kv_len")) : seq;
  const std::uint64_t tokens = decode ? 1 : seq;
  const std::uint64_t vocab = static_cast<std::uint64_t>(p.integer("vocab"));
  Seq x = b.embedding("wte", tokens, d, vocab);
  b.add_params(static_cast<std::uint64_t>(p.integer("positions")) * d);  // wpe
  for (std::int64_t l = 0; l < p.integer("layers"); ++l) {
    b.push(fmt::format("h{}", l));
    Seq h = b.norm("ln1", x, VectorOp::kLayerNorm);
    h = b.attention("attn", h, decode ? std::nullopt : std::optional<Seq>(h), heads, kv_heads,
                    kv_len);
    x = b.add("add1", x, h);
    h = b.norm("ln2", x, VectorOp::kLayerNorm);
    h = b.linear("fc", h, 4 * d, true, VectorOp::kGelu);
    h = b.linear("proj", h, d);
    x = b.add("add2", x, h);
    b.pop();
  }
  x = b.norm("ln_f", x, VectorOp::kLayerNorm);
  // The LM head is tied to the token embedding: its weights are read from
  // the embedding table in DRAM, not new parameters. Logits for the last
  // token only.
  b.linear("lm_head", {x.id, 1, d}, vocab, false);
  b.tie_weights();
  return b.finish();
}

TESSEL_REGISTER_MODEL(ModelFamily{
    "gpt",
    "GPT decoder (GPT-2, Radford et al. 2019); default GPT-2 small, prefill of 1024 tokens",
    {{"layers", ParamSpec::Type::kInt, "12", "decoder layers", 1, 512, {}},
     {"d_model", ParamSpec::Type::kInt, "768", "model width", 8, 65536, {}},
     {"heads", ParamSpec::Type::kInt, "12", "query heads (must divide d_model)", 1, 1024, {}},
     {"kv_heads",
      ParamSpec::Type::kInt,
      "12",
      "key/value heads (must divide heads; < heads: GQA)",
      1,
      1024,
      {}},
     {"sequence", ParamSpec::Type::kInt, "1024", "prompt tokens (prefill)", 1, 1 << 20, {}},
     {"mode",
      ParamSpec::Type::kChoice,
      "prefill",
      "prefill the prompt, or one decode step",
      0,
      0,
      {"prefill", "decode"}},
     {"kv_len", ParamSpec::Type::kInt, "1024", "tokens in the KV cache (decode)", 1, 1 << 20, {}},
     {"vocab", ParamSpec::Type::kInt, "50257", "vocabulary size", 1, 1000000, {}},
     {"positions",
      ParamSpec::Type::kInt,
      "1024",
      "learned positions (parameters only)",
      0,
      1 << 20,
      {}}},
    build_gpt});
TESSEL_REGISTER_PRESET(ModelPreset{"gpt2", "gpt", ""});
TESSEL_REGISTER_PRESET(ModelPreset{"bert_base", "bert", ""});
TESSEL_REGISTER_PRESET(ModelPreset{"vit_b16", "vit", ""});

}  // namespace
}  // namespace tessel::workloads::zoo
